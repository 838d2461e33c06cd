-- Raw waveform snippets (PPG pleth, ECG) as devices sent them, for the
-- console's waveform strip. Plain PostgreSQL: range-partitioned by day like
-- readings (storage/partitions.py creates ahead and drops for retention,
-- RPM_RETENTION_WAVEFORM_DAYS, shorter than raw readings: see docs/storage.md).
--
-- One row per snippet, not per sample: a 100 Hz pleth is 6,000 samples a
-- minute, and a row costs ~30 bytes of header and an index entry of its own.
-- The samples are one bytea in the smallest lossless encoding for the
-- snippet (storage/waveforms.py): int16 for the ADC codes most devices send,
-- int32 for wider converters, float32 / float64 for scaled values; little
-- endian. The natural key makes a replayed or re-sent snippet a no-op; it
-- contains start_at because a partitioned table's keys must include the
-- partition key. end_at (time of the last sample + 1/fs) lets a strip query
-- find the snippets overlapping a span with a range on the key.
CREATE TABLE waveform_snippets (
    patient_id   text COLLATE "C" NOT NULL,
    device_id    text COLLATE "C" NOT NULL,
    kind         text COLLATE "C" NOT NULL CHECK (kind IN ('ppg', 'ecg')),
    start_at     timestamptz NOT NULL,
    end_at       timestamptz NOT NULL,
    fs_hz        double precision NOT NULL CHECK (fs_hz > 0 AND fs_hz <= 1000),
    adc_bits     smallint CHECK (adc_bits BETWEEN 8 AND 24),
    unit         text NOT NULL,
    n_samples    integer NOT NULL CHECK (n_samples BETWEEN 1 AND 30000),
    encoding     text COLLATE "C" NOT NULL CHECK (encoding IN ('i16', 'i32', 'f32', 'f64')),
    samples      bytea NOT NULL,
    received_at  timestamptz NOT NULL,
    CHECK (octet_length(samples) = n_samples * CASE encoding WHEN 'i16' THEN 2 WHEN 'f64' THEN 8 ELSE 4 END),
    CHECK (end_at > start_at),
    PRIMARY KEY (patient_id, device_id, kind, start_at)
) PARTITION BY RANGE (start_at);
CREATE TABLE waveform_snippets_default PARTITION OF waveform_snippets DEFAULT;
