//! The fuzz corpora replayed on stable: every file of `fuzz/corpus/<target>/`
//! goes through the very function its cargo-fuzz target runs
//! (`fuzz/src/lib.rs`, included here), so the seeds and every crash ever
//! found keep guarding the parsers in every `cargo test`, between the
//! fuzzing runs of scripts/fuzz.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/src/lib.rs"]
mod checks;

use std::path::Path;

#[test]
fn every_corpus_input_passes_its_fuzz_target() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let mut failures = Vec::new();
    for (target, check) in checks::TARGETS {
        let dir = corpus.join(target);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        inputs.sort();
        assert!(
            inputs.len() >= 5,
            "{target}: only {} seeds in {}",
            inputs.len(),
            dir.display()
        );
        for input in &inputs {
            let data = std::fs::read(input).unwrap();
            if std::panic::catch_unwind(|| check(&data)).is_err() {
                failures.push(input.display().to_string());
            }
        }
        println!("{target}: {} inputs replayed", inputs.len());
    }
    assert!(failures.is_empty(), "inputs that fail: {failures:#?}");
}
