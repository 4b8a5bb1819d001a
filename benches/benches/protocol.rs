//! Criterion micro-benchmarks of the protocol crate's hot paths: request decoding (a
//! pipeline of SETs, one 100-key MGET), reply encoding, and key hashing.

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use slotgate_protocol::resp::{encode, encode_request, RequestDecoder};
use slotgate_protocol::{key_slot, Frame};

fn set_pipeline(commands: usize) -> Vec<u8> {
    let mut out = BytesMut::new();
    for n in 0..commands {
        let key = format!("key:{n:012}");
        encode_request(
            &[&b"SET"[..], key.as_bytes(), b"0123456789abcdef"],
            &mut out,
        );
    }
    out.to_vec()
}

fn mget(keys: usize) -> Vec<u8> {
    let mut args: Vec<Vec<u8>> = vec![b"MGET".to_vec()];
    args.extend((0..keys).map(|n| format!("key:{n:012}").into_bytes()));
    let mut out = BytesMut::new();
    encode_request(&args, &mut out);
    out.to_vec()
}

/// Decodes every request in `buf` (the read buffer a connection would hold).
fn decode_everything(decoder: &mut RequestDecoder, buf: &mut BytesMut) -> usize {
    let mut n = 0;
    while let Ok(Some(request)) = decoder.decode(buf) {
        n += request.args.len();
    }
    n
}

/// Benchmarks decoding `input`; filling the read buffer is setup, not measured.
fn bench_decoding(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    input: &[u8],
) {
    let mut decoder = RequestDecoder::default();
    group.bench_function(name, |b| {
        b.iter_batched_ref(
            || BytesMut::from(input),
            |buf| decode_everything(&mut decoder, black_box(buf)),
            BatchSize::SmallInput,
        )
    });
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    let pipeline = set_pipeline(16);
    group.throughput(Throughput::Elements(16));
    bench_decoding(&mut group, "pipeline_16_set", &pipeline);
    let mget = mget(100);
    group.throughput(Throughput::Elements(1));
    bench_decoding(&mut group, "mget_100_keys", &mget);
    group.finish();
}

fn bench_encode(c: &mut Criterion) {
    let reply = Frame::Array(
        (0..100)
            .map(|n| Frame::Bulk(Bytes::from(format!("value:{n:08}"))))
            .collect(),
    );
    let mut out = BytesMut::with_capacity(4096);
    c.bench_function("encode/array_100_bulk", |b| {
        b.iter(|| {
            out.clear();
            encode(black_box(&reply), &mut out);
            out.len()
        })
    });
}

fn bench_key_slot(c: &mut Criterion) {
    let plain = b"user:0001234567x";
    let tagged = b"{user:000123}:ab";
    c.bench_function("key_slot/16_bytes", |b| {
        b.iter(|| key_slot(black_box(plain)))
    });
    c.bench_function("key_slot/16_bytes_tagged", |b| {
        b.iter(|| key_slot(black_box(tagged)))
    });
}

criterion_group!(benches, bench_decode, bench_encode, bench_key_slot);
criterion_main!(benches);
