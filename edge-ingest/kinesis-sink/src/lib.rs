//! KinesisEventSink: the AWS adapter of EventSink (PutRecords with chunking, partial-failure retries and a deadline)
