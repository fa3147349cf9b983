//! `DeepLink::parse`: every link the OS hands the app goes through it.
//! `cargo bench -p latch-deeplink --bench deep_link`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use latch_deeplink::DeepLink;

fn deep_link(c: &mut Criterion) {
    let mut group = c.benchmark_group("deep_link_parse");
    for (name, link) in [
        // As the server's /auth/open page writes it.
        (
            "canonical",
            "app.latch:/auth/callback?flow=flw_k3j5h7g2m4n6p8q2r4s6&code=ABCD-EFGH",
        ),
        // As a launcher may rewrite it: `//`, percent-encoded, lower case.
        (
            "rewritten",
            "APP.LATCH://auth/callback?code=abcd%2Defgh&flow=flw_k3j5h7g2m4n6p8q2r4s6#x",
        ),
        // Refused: an unknown parameter.
        (
            "hostile",
            "app.latch:/auth/callback?flow=flw_k3j5h7g2m4n6p8q2r4s6&code=ABCD-EFGH&next=https://evil.example",
        ),
    ] {
        group.bench_function(name, |b| b.iter(|| DeepLink::parse(black_box(link))));
    }
    group.finish();
}

criterion_group!(benches, deep_link);
criterion_main!(benches);
