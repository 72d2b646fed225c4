#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use super::*;
use proptest::prelude::*;

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-test", 3)
        .with_public("model", b"vk-digest")
        .with_public_fields("tokens", &[F::from_u64(5), F::from_u64(7)])
}

fn ext(a: u64, b: u64, c: u64) -> EF {
    EF::from_basis_coefficients_fn(|i| F::from_u64([a, b, c][i]))
}

/// The messages of a small scripted protocol.
struct Script {
    fields: Vec<F>,
    exts: Vec<EF>,
    bytes: Vec<u8>,
    count: u32,
}

fn script() -> Script {
    Script {
        fields: vec![F::from_u64(1), F::from_u64(P - 1), F::ZERO],
        exts: vec![ext(3, 4, 5), ext(P - 1, 0, 9)],
        bytes: b"merkle root bytes, 33 bytes long!".to_vec(),
        count: 4,
    }
}

/// Runs the prover side; returns the proof and every challenge it drew.
fn prove(ds: &DomainSeparator, s: &Script) -> (Vec<u8>, Vec<EF>) {
    let mut t = ProverTranscript::new(ds);
    let mut challenges = Vec::new();
    t.absorb_public_fields("shape", &[F::from_u64(12)]);
    t.send_fields(&s.fields);
    challenges.push(t.challenge_ext());
    t.send_exts(&s.exts);
    t.absorb_public_exts("claim", &[ext(1, 2, 3)]);
    challenges.extend(t.challenge_exts(2));
    t.send_bytes(&s.bytes);
    t.absorb_public_bytes("note", b"abc");
    challenges.push(t.challenge_ext());
    t.send_u32(s.count);
    t.send_ext(s.exts[0]);
    t.send_field(s.fields[1]);
    challenges.push(EF::from(t.challenge_field()));
    (t.into_proof(), challenges)
}

/// Runs the verifier side; returns every challenge it drew, or the first error.
fn verify(ds: &DomainSeparator, proof: &[u8], s: &Script) -> Result<Vec<EF>, TranscriptError> {
    let mut t = VerifierTranscript::new(ds, proof);
    let mut challenges = Vec::new();
    t.absorb_public_fields("shape", &[F::from_u64(12)]);
    let fields = t.receive_fields(s.fields.len())?;
    challenges.push(t.challenge_ext());
    let exts = t.receive_exts(s.exts.len())?;
    t.absorb_public_exts("claim", &[ext(1, 2, 3)]);
    challenges.extend(t.challenge_exts(2));
    let bytes = t.receive_bytes()?;
    t.absorb_public_bytes("note", b"abc");
    challenges.push(t.challenge_ext());
    let count = t.receive_u32()?;
    let e = t.receive_ext()?;
    let f = t.receive_field()?;
    challenges.push(EF::from(t.challenge_field()));
    t.finish()?;
    // The honest values round-trip (only checked when the caller passes the honest script).
    let _ = (fields, exts, bytes, count, e, f);
    Ok(challenges)
}

#[test]
fn prover_and_verifier_agree_and_values_round_trip() {
    let s = script();
    let (proof, pc) = prove(&ds(), &s);
    assert_eq!(proof.len(), 3 * 8 + 2 * 24 + 4 + s.bytes.len() + 4 + 24 + 8);
    let mut t = VerifierTranscript::new(&ds(), &proof);
    t.absorb_public_fields("shape", &[F::from_u64(12)]);
    assert_eq!(t.receive_fields(3).unwrap(), s.fields);
    assert_eq!(t.challenge_ext(), pc[0]);
    assert_eq!(t.receive_exts(2).unwrap(), s.exts);
    t.absorb_public_exts("claim", &[ext(1, 2, 3)]);
    assert_eq!(t.challenge_exts(2), pc[1..3].to_vec());
    assert_eq!(t.receive_bytes().unwrap(), s.bytes.as_slice());
    t.absorb_public_bytes("note", b"abc");
    assert_eq!(t.challenge_ext(), pc[3]);
    assert_eq!(t.receive_u32().unwrap(), 4);
    assert_eq!(t.receive_ext().unwrap(), s.exts[0]);
    assert_eq!(t.receive_field().unwrap(), s.fields[1]);
    assert_eq!(EF::from(t.challenge_field()), pc[4]);
    t.finish().unwrap();
    assert_eq!(verify(&ds(), &proof, &s).unwrap(), pc);
}

#[test]
fn challenges_are_not_degenerate() {
    let (_, pc) = prove(&ds(), &script());
    for (i, a) in pc.iter().enumerate() {
        assert_ne!(*a, EF::ZERO);
        for b in &pc[i + 1..] {
            assert_ne!(a, b);
        }
    }
}

#[test]
fn every_part_of_the_domain_separator_matters() {
    let s = script();
    let (_, base) = prove(&ds(), &s);
    let variants = [
        DomainSeparator::new("zkinfer-tesT", 3)
            .with_public("model", b"vk-digest")
            .with_public_fields("tokens", &[F::from_u64(5), F::from_u64(7)]),
        DomainSeparator::new("zkinfer-test", 4)
            .with_public("model", b"vk-digest")
            .with_public_fields("tokens", &[F::from_u64(5), F::from_u64(7)]),
        DomainSeparator::new("zkinfer-test", 3)
            .with_public("model", b"vk-digesT")
            .with_public_fields("tokens", &[F::from_u64(5), F::from_u64(7)]),
        DomainSeparator::new("zkinfer-test", 3)
            .with_public("mode1", b"vk-digest")
            .with_public_fields("tokens", &[F::from_u64(5), F::from_u64(7)]),
        DomainSeparator::new("zkinfer-test", 3)
            .with_public("model", b"vk-digest")
            .with_public_fields("tokens", &[F::from_u64(5), F::from_u64(8)]),
        DomainSeparator::new("zkinfer-test", 3)
            .with_public_fields("tokens", &[F::from_u64(5), F::from_u64(7)])
            .with_public("model", b"vk-digest"),
        // Moving a byte between label and value must not collide.
        DomainSeparator::new("zkinfer-test", 3)
            .with_public("model", b"vk-digest")
            .with_public_fields("token", &[F::from_u64(5), F::from_u64(7)]),
        DomainSeparator::new("zkinfer-test", 3).with_public("model", b"vk-digest"),
    ];
    for (i, v) in variants.iter().enumerate() {
        assert_ne!(v.encode(), ds().encode(), "variant {i} encodes equal");
        let (_, c) = prove(v, &s);
        for (a, b) in c.iter().zip(&base) {
            assert_ne!(a, b, "variant {i} shares a challenge");
        }
    }
}

#[test]
fn public_absorptions_are_labelled_and_typed() {
    let first = |f: &dyn Fn(&mut ProverTranscript)| {
        let mut t = ProverTranscript::new(&ds());
        f(&mut t);
        t.challenge_ext()
    };
    let results = [
        first(&|t| t.absorb_public_fields("a", &[F::ONE])),
        first(&|t| t.absorb_public_fields("b", &[F::ONE])),
        first(&|t| t.absorb_public_fields("a", &[F::TWO])),
        first(&|t| t.absorb_public_exts("a", &[EF::ONE])),
        first(&|t| t.absorb_public_bytes("a", &[1])),
        first(&|t| t.absorb_public_bytes("a", &[1, 0])),
        first(&|t| t.absorb_public_fields("a", &[])),
        first(&|_| {}),
        // Sending a value is not the same as absorbing it as public.
        first(&|t| t.send_field(F::ONE)),
    ];
    for i in 0..results.len() {
        for j in i + 1..results.len() {
            assert_ne!(results[i], results[j], "absorptions {i} and {j} collide");
        }
    }
}

#[test]
fn truncated_proofs_are_rejected_at_every_length() {
    let s = script();
    let (proof, _) = prove(&ds(), &s);
    for len in 0..proof.len() {
        assert!(
            verify(&ds(), &proof[..len], &s).is_err(),
            "truncation to {len} accepted"
        );
    }
}

#[test]
fn extended_proofs_are_rejected() {
    let s = script();
    let (proof, _) = prove(&ds(), &s);
    for extra in [&[0u8][..], &[1, 2, 3], &[0; 8], &proof[..]] {
        let mut longer = proof.clone();
        longer.extend_from_slice(extra);
        assert_eq!(
            verify(&ds(), &longer, &s),
            Err(TranscriptError::TrailingBytes(extra.len()))
        );
    }
}

#[test]
fn every_flipped_byte_changes_challenges_or_errors() {
    let s = script();
    let (proof, honest) = prove(&ds(), &s);
    for i in 0..proof.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut bad = proof.clone();
            bad[i] ^= mask;
            if let Ok(c) = verify(&ds(), &bad, &s) {
                assert_ne!(
                    c.last(),
                    honest.last(),
                    "flip {mask:#x} at byte {i} undetected"
                );
            }
        }
    }
}

#[test]
fn non_canonical_field_encodings_are_rejected() {
    for v in [P, P + 1, u64::MAX] {
        let bytes = v.to_le_bytes();
        let mut t = VerifierTranscript::new(&ds(), &bytes);
        assert_eq!(t.receive_field(), Err(TranscriptError::NonCanonical(v)));
    }
    let mut ext_bytes = Vec::new();
    ext_bytes.extend_from_slice(&1u64.to_le_bytes());
    ext_bytes.extend_from_slice(&P.to_le_bytes());
    ext_bytes.extend_from_slice(&1u64.to_le_bytes());
    let mut t = VerifierTranscript::new(&ds(), &ext_bytes);
    assert_eq!(t.receive_ext(), Err(TranscriptError::NonCanonical(P)));
    let ok = (P - 1).to_le_bytes();
    let mut t = VerifierTranscript::new(&ds(), &ok);
    assert_eq!(t.receive_field().unwrap(), F::NEG_ONE);
}

#[test]
fn huge_counts_and_lengths_fail_without_allocating() {
    let proof = [0u8; 16];
    let mut t = VerifierTranscript::new(&ds(), &proof);
    assert!(matches!(
        t.receive_fields(usize::MAX),
        Err(TranscriptError::UnexpectedEnd { .. })
    ));
    assert!(matches!(
        t.receive_exts(usize::MAX / 2),
        Err(TranscriptError::UnexpectedEnd { .. })
    ));
    assert!(matches!(
        t.receive_fields(3),
        Err(TranscriptError::UnexpectedEnd {
            needed: 24,
            remaining: 16
        })
    ));
    // Failed reads consumed nothing.
    assert_eq!(t.remaining(), 16);
    let mut lying = u32::MAX.to_le_bytes().to_vec();
    lying.extend_from_slice(&[7; 10]);
    let mut t = VerifierTranscript::new(&ds(), &lying);
    assert!(matches!(
        t.receive_bytes(),
        Err(TranscriptError::UnexpectedEnd { .. })
    ));
    assert_eq!(t.remaining(), 14);
}

#[test]
fn empty_byte_strings_round_trip() {
    let mut p = ProverTranscript::new(&ds());
    p.send_bytes(&[]);
    let c = p.challenge_ext();
    let proof = p.into_proof();
    let mut v = VerifierTranscript::new(&ds(), &proof);
    assert_eq!(v.receive_bytes().unwrap(), &[] as &[u8]);
    assert_eq!(v.challenge_ext(), c);
    v.finish().unwrap();
}

proptest! {
    #[test]
    fn random_messages_round_trip(
        fields in proptest::collection::vec(0..P, 0..20),
        bytes in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let fields: Vec<F> = fields.into_iter().map(F::from_u64).collect();
        let mut p = ProverTranscript::new(&ds());
        p.send_fields(&fields);
        let c1 = p.challenge_ext();
        p.send_bytes(&bytes);
        let c2 = p.challenge_ext();
        let proof = p.into_proof();
        let mut v = VerifierTranscript::new(&ds(), &proof);
        prop_assert_eq!(v.receive_fields(fields.len()).unwrap(), fields);
        prop_assert_eq!(v.challenge_ext(), c1);
        prop_assert_eq!(v.receive_bytes().unwrap(), bytes.as_slice());
        prop_assert_eq!(v.challenge_ext(), c2);
        prop_assert!(v.finish().is_ok());
    }

    #[test]
    fn byte_strings_differing_only_in_trailing_zeros_absorb_differently(n in 0usize..20) {
        let a = vec![0u8; n];
        let b = vec![0u8; n + 1];
        let mut pa = ProverTranscript::new(&ds());
        pa.absorb_public_bytes("x", &a);
        let mut pb = ProverTranscript::new(&ds());
        pb.absorb_public_bytes("x", &b);
        prop_assert_ne!(pa.challenge_ext(), pb.challenge_ext());
    }
}

/// A transcript cut into segments reads back segment by segment with the same challenges as in
/// one piece; a segment boundary moved by one byte, segments swapped or a segment left unread
/// are rejected.
#[test]
fn segments_continue_one_transcript() {
    let mut t = ProverTranscript::new(&ds());
    t.send_u32(7);
    let c0 = t.challenge_ext();
    let seg0 = t.take_segment();
    t.send_ext(ext(1, 2, 3));
    let c1 = t.challenge_ext();
    let seg1 = t.take_segment();
    assert!(t.into_proof().is_empty());
    let mut v = VerifierTranscript::new(&ds(), &seg0);
    assert_eq!(v.receive_u32().unwrap(), 7);
    assert_eq!(v.challenge_ext(), c0);
    let mut v = VerifierTranscript::resume(v.suspend().unwrap(), &seg1);
    assert_eq!(v.receive_ext().unwrap(), ext(1, 2, 3));
    assert_eq!(v.challenge_ext(), c1);
    v.finish().unwrap();
    // The first segment not fully read: the boundary is checked.
    let mut joined = seg0.clone();
    joined.extend_from_slice(&seg1);
    let mut v = VerifierTranscript::new(&ds(), &joined);
    v.receive_u32().unwrap();
    assert!(matches!(v.suspend(), Err(TranscriptError::TrailingBytes(_))));
    // Swapped segments: the values read differ, so do the challenges.
    let mut v = VerifierTranscript::new(&ds(), &seg1);
    assert!(v.receive_u32().is_ok());
    assert_ne!(v.challenge_ext(), c0);
}
