use super::*;
use proptest::prelude::*;
/// Drives the codec over a reader the way `FramedRead` does: decode what is buffered, read more, and at
/// EOF drain `decode_eof`. Stops at the first io error.
async fn collect_frames<R: tokio::io::AsyncRead + Unpin>(
    mut reader: R,
    max: usize,
) -> Vec<std::io::Result<Frame>> {
    use tokio::io::AsyncReadExt;
    let mut codec = LineCodec::new(max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    loop {
        while let Some(frame) = codec.decode(&mut buf).expect("content never errors") {
            out.push(Ok(frame));
        }
        match reader.read_buf(&mut buf).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                out.push(Err(e));
                return out;
            }
        }
    }
    while let Some(frame) = codec.decode_eof(&mut buf).expect("content never errors") {
        out.push(Ok(frame));
    }
    out
}

/// Feeds `chunks` through the decoder exactly as FramedRead would, checking the buffer bound after every
/// pending decode.
fn decode_chunks(chunks: &[&[u8]], max: usize) -> Vec<Frame> {
    let mut codec = LineCodec::new(max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(frame) = codec.decode(&mut buf).expect("content never errors") {
            out.push(frame);
        }
        // Only an unterminated line that may still fit the limit is ever buffered.
        assert!(buf.len() <= max + 1, "buffer {} > max {max} + 1", buf.len());
    }
    while let Some(frame) = codec.decode_eof(&mut buf).expect("content never errors") {
        out.push(frame);
    }
    assert!(buf.is_empty());
    out
}

fn line(s: &str) -> Frame {
    Frame::Line(Bytes::copy_from_slice(s.as_bytes()))
}

#[test]
fn lines_crlf_and_blank_lines() {
    let input = b"a\r\n\n  \t\r\n\r\nb\nc\r";
    let expected = vec![line("a"), line("b"), line("c")];
    assert_eq!(decode_chunks(&[input], 100), expected);
    assert_eq!(split_all(input, 100), expected);
}

#[test]
fn inner_whitespace_and_bare_cr_are_content() {
    let input = b" {\"a\":1} \r\na\rb\n";
    assert_eq!(
        decode_chunks(&[input], 100),
        vec![line(" {\"a\":1} "), line("a\rb")]
    );
}

#[test]
fn exact_limit_fits_and_one_more_is_oversize() {
    let input = b"abcd\nabcd\r\nabcde\nabcde\r\nok";
    let over = Frame::Oversize {
        prefix: Bytes::from_static(b"abcde"),
        len: 5,
    };
    let expected = vec![line("abcd"), line("abcd"), over.clone(), over, line("ok")];
    assert_eq!(decode_chunks(&[input], 4), expected);
    // Byte by byte the decision is made before the newline arrives.
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(decode_chunks(&bytes, 4), expected);
}

#[test]
fn oversize_keeps_prefix_reports_len_and_recovers() {
    let max = 10_000;
    let mut big = b"{\"id\":7,".to_vec();
    big.resize(50_000, b'x');
    let mut input = big.clone();
    input.extend_from_slice(b"\r\n{\"id\":8}\n");
    let chunks: Vec<&[u8]> = input.chunks(777).collect();
    let frames = decode_chunks(&chunks, max);
    assert_eq!(
        frames,
        vec![
            Frame::Oversize {
                prefix: Bytes::copy_from_slice(&big[..OVERSIZE_PREFIX_BYTES]),
                len: 50_000
            },
            line("{\"id\":8}"),
        ]
    );
}

#[test]
fn oversize_at_eof_and_blank_oversize_is_skipped() {
    let mut input = vec![b' '; 100];
    input.extend_from_slice(b"\nxxxxxxxxxxxx");
    let chunks: Vec<&[u8]> = input.chunks(3).collect();
    assert_eq!(
        decode_chunks(&chunks, 8),
        vec![Frame::Oversize {
            prefix: Bytes::from_static(b"xxxxxxxxxxxx"),
            len: 12
        }]
    );
}

#[test]
fn lines_are_zero_copy_slices_of_the_read_buffer() {
    let mut codec = LineCodec::new(100);
    let mut buf = BytesMut::from(&b"first\nsecond\n"[..]);
    let base = buf.as_ptr() as usize;
    let Some(Frame::Line(a)) = codec.decode(&mut buf).expect("ok") else {
        panic!("expected a line");
    };
    let Some(Frame::Line(b)) = codec.decode(&mut buf).expect("ok") else {
        panic!("expected a line");
    };
    assert_eq!((&a[..], &b[..]), (&b"first"[..], &b"second"[..]));
    assert_eq!(a.as_ptr() as usize, base);
    assert_eq!(b.as_ptr() as usize, base + 6);
}

#[test]
fn scan_resumes_instead_of_rescanning() {
    let mut codec = LineCodec::new(1 << 20);
    let mut buf = BytesMut::new();
    for _ in 0..1000 {
        buf.put_u8(b'x');
        assert_eq!(codec.decode(&mut buf).expect("ok"), None);
        assert_eq!(codec.scanned, buf.len());
    }
    buf.put_slice(b"\n");
    assert!(matches!(codec.decode(&mut buf).expect("ok"), Some(Frame::Line(l)) if l.len() == 1000));
    assert_eq!(codec.scanned, 0);
}

#[test]
fn discard_mode_drops_bytes_as_they_come() {
    let mut codec = LineCodec::new(16);
    let mut buf = BytesMut::new();
    for _ in 0..10_000 {
        buf.put_slice(b"0123456789");
        assert_eq!(codec.decode(&mut buf).expect("ok"), None);
        assert!(buf.len() <= 17);
    }
    let d = codec.discard.as_ref().expect("discarding");
    assert_eq!(d.prefix.len(), OVERSIZE_PREFIX_BYTES);
    assert_eq!(d.seen, 100_000);
    assert_eq!(codec.max_message_bytes(), 16);
}

#[tokio::test]
async fn decodes_from_a_reader() {
    let input: &[u8] = b"{\"a\":1}\n\n{\"b\":2}";
    let frames: Vec<Frame> = collect_frames(input, 64)
        .await
        .into_iter()
        .map(|f| f.expect("no io error"))
        .collect();
    assert_eq!(frames, vec![line("{\"a\":1}"), line("{\"b\":2}")]);
}

#[tokio::test]
async fn frames_before_an_io_error_are_delivered() {
    let frames = collect_frames(failing_reader(), 64).await;
    assert!(matches!(&frames[0], Ok(f) if *f == line("ok")));
    let Err(e) = &frames[1] else {
        panic!("expected the io error")
    };
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset);
}

/// A reader that yields one line, then fails.
fn failing_reader() -> impl tokio::io::AsyncRead + Unpin {
    use std::pin::Pin;
    use std::task::{Context, Poll};
    struct R(bool);
    impl tokio::io::AsyncRead for R {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            if self.0 {
                return Poll::Ready(Err(std::io::ErrorKind::ConnectionReset.into()));
            }
            self.0 = true;
            buf.put_slice(b"ok\n");
            Poll::Ready(Ok(()))
        }
    }
    R(false)
}

fn input_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => Just(b'\n'),
        2 => Just(b'\r'),
        2 => Just(b' '),
        1 => Just(b'\t'),
        6 => b'a'..=b'z',
        2 => any::<u8>(),
    ]
}

/// Cuts `input` at the given sizes (cycled), so every chunk boundary position gets exercised.
fn chunked<'a>(input: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = input;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].min(rest.len());
        let (head, tail) = rest.split_at(n);
        out.push(head);
        rest = tail;
        i += 1;
    }
    out
}

fn check_against_reference(input: &[u8], max: usize, sizes: &[usize]) {
    let frames = decode_chunks(&chunked(input, sizes), max);
    assert_eq!(frames, split_all(input, max));
    for frame in &frames {
        match frame {
            Frame::Line(l) => assert!(l.len() <= max && !l.is_empty()),
            Frame::Oversize { prefix, len } => {
                assert!(*len > max);
                assert_eq!(prefix.len(), (*len).min(OVERSIZE_PREFIX_BYTES));
            }
        }
    }
}

proptest! {
    #[test]
    fn any_chunking_matches_split_all(
        input in proptest::collection::vec(input_byte(), 0..2000),
        max in prop_oneof![0usize..8, 8usize..64, 64usize..4096],
        sizes in proptest::collection::vec(1usize..300, 1..8),
    ) {
        check_against_reference(&input, max, &sizes);
    }

    #[test]
    fn long_lines_match_split_all(
        lines in proptest::collection::vec((0usize..9000, any::<bool>(), any::<bool>()), 0..6),
        max in prop_oneof![0usize..16, 4000usize..6000],
        sizes in proptest::collection::vec(1usize..5000, 1..4),
    ) {
        let mut input = Vec::new();
        for (len, crlf, terminated) in lines {
            input.extend((0..len).map(|i| b'a' + (i % 26) as u8));
            if crlf { input.push(b'\r'); }
            if terminated { input.push(b'\n'); }
        }
        check_against_reference(&input, max, &sizes);
    }
}
