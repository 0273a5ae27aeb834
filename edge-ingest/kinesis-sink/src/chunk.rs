//! Splitting a batch into PutRecords requests: a pure function over record sizes, so every Kinesis
//! limit is tested at its edge without a server.

use std::ops::Range;

/// Most records one PutRecords request may carry.
pub const MAX_RECORDS_PER_REQUEST: usize = 500;
/// Most bytes one PutRecords request may carry: every record's data plus its partition key (5 MiB).
pub const MAX_REQUEST_BYTES: usize = 5 * 1024 * 1024;
/// Largest single record: its data plus its partition key (1 MiB).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// Longest partition key, in Unicode scalar values. The event schema caps `anonymous_id` at 128
/// bytes, so this holds by construction; the sink still checks it rather than let Kinesis refuse a
/// whole request.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;

/// A record that no request can carry. The batch is refused whole, before anything is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("record {index} is {bytes} bytes (data + partition key), over the Kinesis limit of {limit} bytes per record")]
pub struct RecordTooLarge {
    /// Position of the record in the batch.
    pub index: usize,
    pub bytes: usize,
    pub limit: usize,
}

/// Groups records, given each one's size in bytes (data + partition key), into consecutive ranges
/// that each fit one PutRecords request: at most [`MAX_RECORDS_PER_REQUEST`] records and
/// [`MAX_REQUEST_BYTES`] bytes. Order is kept and every record is in exactly one range; a range is
/// closed only when the next record would break a limit (greedy, so the fewest requests for a
/// given order).
///
/// Fails on the first record over [`MAX_RECORD_BYTES`]: such a record is never silently dropped.
///
/// ```
/// use ingest_kinesis::{plan_chunks, MAX_RECORD_BYTES};
/// assert_eq!(plan_chunks(&[10; 501]).unwrap(), vec![0..500, 500..501]);
/// assert_eq!(plan_chunks(&[MAX_RECORD_BYTES; 6]).unwrap(), vec![0..5, 5..6]);
/// assert!(plan_chunks(&[10, MAX_RECORD_BYTES + 1]).is_err());
/// ```
pub fn plan_chunks(sizes: &[usize]) -> Result<Vec<Range<usize>>, RecordTooLarge> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (index, &size) in sizes.iter().enumerate() {
        if size > MAX_RECORD_BYTES {
            return Err(RecordTooLarge { index, bytes: size, limit: MAX_RECORD_BYTES });
        }
        if index - start == MAX_RECORDS_PER_REQUEST || bytes + size > MAX_REQUEST_BYTES {
            chunks.push(start..index);
            start = index;
            bytes = 0;
        }
        bytes += size;
    }
    if start < sizes.len() {
        chunks.push(start..sizes.len());
    }
    Ok(chunks)
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // a plan of one request is a Vec holding one Range
mod tests {
    use super::*;

    const MIB: usize = 1024 * 1024;

    #[test]
    fn the_limits_are_the_documented_kinesis_quotas() {
        assert_eq!(MAX_RECORDS_PER_REQUEST, 500);
        assert_eq!(MAX_REQUEST_BYTES, 5 * MIB);
        assert_eq!(MAX_RECORD_BYTES, MIB);
        assert_eq!(MAX_PARTITION_KEY_CHARS, 256);
    }

    #[test]
    fn nothing_to_send_is_no_request() {
        assert_eq!(plan_chunks(&[]), Ok(vec![]));
    }

    #[test]
    fn exactly_500_records_are_one_request_and_501_are_two() {
        assert_eq!(plan_chunks(&[100; 500]), Ok(vec![0..500]));
        assert_eq!(plan_chunks(&[100; 501]), Ok(vec![0..500, 500..501]));
        assert_eq!(plan_chunks(&[1; 1200]), Ok(vec![0..500, 500..1000, 1000..1200]));
    }

    #[test]
    fn exactly_5_mib_is_one_request_and_one_byte_more_is_two() {
        // Five records of exactly 1 MiB: 5 MiB on the dot.
        assert_eq!(plan_chunks(&[MIB; 5]), Ok(vec![0..5]));
        // The same total from uneven records.
        let sizes = [MIB, MIB - 100, MIB, 60, MIB, MIB, 40];
        assert_eq!(sizes.iter().sum::<usize>(), MAX_REQUEST_BYTES);
        assert_eq!(plan_chunks(&sizes), Ok(vec![0..7]));
        // One byte over: the last record goes to a second request.
        let mut over = vec![MIB; 5];
        over.push(1);
        assert_eq!(plan_chunks(&over), Ok(vec![0..5, 5..6]));
        let mut over = vec![MIB; 4];
        over.push(MIB - 10);
        over.push(11);
        assert_eq!(over.iter().sum::<usize>(), MAX_REQUEST_BYTES + 1);
        assert_eq!(plan_chunks(&over), Ok(vec![0..5, 5..6]));
    }

    #[test]
    fn a_1_mib_record_is_sent_and_one_byte_more_is_refused() {
        assert_eq!(plan_chunks(&[MAX_RECORD_BYTES]), Ok(vec![0..1]));
        assert_eq!(plan_chunks(&[10, MAX_RECORD_BYTES, 10]), Ok(vec![0..3]));
        let err = plan_chunks(&[10, 20, MAX_RECORD_BYTES + 1, 30]).unwrap_err();
        assert_eq!(err, RecordTooLarge { index: 2, bytes: MAX_RECORD_BYTES + 1, limit: MAX_RECORD_BYTES });
        assert_eq!(
            err.to_string(),
            "record 2 is 1048577 bytes (data + partition key), over the Kinesis limit of 1048576 bytes per record"
        );
    }

    #[test]
    fn both_limits_at_once_close_a_request_at_whichever_comes_first() {
        // 500 records of 10 KiB = 5,000 KiB < 5 MiB: the count closes the request.
        assert_eq!(plan_chunks(&[10 * 1024; 501]), Ok(vec![0..500, 500..501]));
        // 400 records of 16 KiB = 6.25 MiB: the bytes close it after 320 records.
        assert_eq!(plan_chunks(&[16 * 1024; 400]), Ok(vec![0..320, 320..400]));
    }

    /// Random sizes: the ranges are contiguous, cover everything in order, respect both limits,
    /// and are maximal (the next record would not have fitted).
    #[test]
    fn random_batches_are_covered_in_order_within_limits_and_greedily() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..300 {
            let len = rng.usize(0..1500);
            let big = rng.bool();
            let sizes: Vec<usize> =
                (0..len).map(|_| if big { rng.usize(1..=MAX_RECORD_BYTES) } else { rng.usize(1..=40_000) }).collect();
            let chunks = plan_chunks(&sizes).unwrap();
            let mut next = 0;
            for (i, chunk) in chunks.iter().enumerate() {
                assert_eq!(chunk.start, next, "contiguous");
                assert!(!chunk.is_empty());
                let bytes: usize = sizes[chunk.clone()].iter().sum();
                assert!(chunk.len() <= MAX_RECORDS_PER_REQUEST);
                assert!(bytes <= MAX_REQUEST_BYTES);
                if i + 1 < chunks.len() {
                    let full = chunk.len() == MAX_RECORDS_PER_REQUEST;
                    assert!(full || bytes + sizes[chunk.end] > MAX_REQUEST_BYTES, "closed early: {chunk:?}");
                }
                next = chunk.end;
            }
            assert_eq!(next, sizes.len(), "every record is planned");
        }
    }
}
