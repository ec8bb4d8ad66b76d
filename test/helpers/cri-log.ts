/** A strict reader of CRI log files, as the kubelet's parser reads them. */
import assert from 'node:assert/strict';

export interface LogRecord {
  time: string;
  stream: 'stdout' | 'stderr';
  tag: 'F' | 'P';
  content: string;
}

const RECORD = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (stdout|stderr) ([FP]) (.*)$/s;

/** Every record of a log file's text; fails on anything that is not one, or on time going back. */
export function parseCriLog(text: string): LogRecord[] {
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), 'the log ends with a whole record');
  const records: LogRecord[] = [];
  for (const line of text.slice(0, -1).split('\n')) {
    const match = RECORD.exec(line);
    assert.ok(match, `not a CRI log record: ${JSON.stringify(line.slice(0, 80))}`);
    const [, time, stream, tag, content] = match;
    assert.ok(!Number.isNaN(Date.parse(time!)), `bad time ${time}`);
    const previous = records.at(-1);
    if (previous) assert.ok(previous.time <= time!, `time goes back: ${previous.time} > ${time}`);
    records.push({
      time: time!,
      stream: stream as LogRecord['stream'],
      tag: tag as LogRecord['tag'],
      content: content!,
    });
  }
  return records;
}

/** The lines of one stream, partial records joined up to their closing F (an open last one kept). */
export function joinLines(records: LogRecord[], stream: LogRecord['stream']): string[] {
  const lines: string[] = [];
  let open = '';
  let pending = false;
  for (const record of records) {
    if (record.stream !== stream) continue;
    open += record.content;
    pending = true;
    if (record.tag === 'F') {
      lines.push(open);
      open = '';
      pending = false;
    }
  }
  if (pending) lines.push(open);
  return lines;
}
