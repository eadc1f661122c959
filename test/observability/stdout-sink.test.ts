/** The bounded stdout sink: drops and counts what a full or closed stdout does not take, never blocks. */
import { expect } from "chai";
import { EventEmitter } from "node:events";
import { StdoutSink } from "../../src/observability/logger.js";

/** A stand-in for process.stdout whose backlog the test sets. */
class FakeStdout extends EventEmitter {
  writableLength = 0;
  isTTY = false;
  readonly lines: string[] = [];
  write(s: string): boolean {
    this.lines.push(s);
    return true;
  }
}

describe("observability: the bounded stdout sink", () => {
  it("writes while stdout keeps up; drops and counts past the bound; says how many when it resumes", () => {
    const out = new FakeStdout();
    const sink = new StdoutSink(out as unknown as NodeJS.WriteStream, 100);
    const resumed: number[] = [];
    sink.onResume = (n) => {
      resumed.push(n);
      sink.write(`dropped ${n}\n`);
    };
    sink.write("a\n");
    out.writableLength = 99; // the pipe is full: what node holds for it is near the bound
    sink.write("bb\n");
    sink.write("cc\n");
    expect(sink.dropped).to.equal(2);
    out.writableLength = 0;
    sink.write("d\n");
    expect(out.lines).to.deep.equal(["a\n", "dropped 2\n", "d\n"]);
    expect(resumed).to.deep.equal([2]);
    expect(sink.written).to.equal(3);
  });

  it("after an error on stdout (EPIPE) every line is dropped, nothing throws", () => {
    const out = new FakeStdout();
    const sink = new StdoutSink(out as unknown as NodeJS.WriteStream, 100);
    out.emit("error", Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
    expect(sink.closed).to.equal(true);
    sink.write("x\n");
    expect(out.lines).to.deep.equal([]);
    expect(sink.dropped).to.equal(1);
  });

  it("flush resolves when stdout drains, or at its timeout when it never does", async () => {
    const out = new FakeStdout();
    const sink = new StdoutSink(out as unknown as NodeJS.WriteStream, 100);
    await sink.flush(10_000); // nothing pending
    out.writableLength = 50;
    const drained = sink.flush(10_000);
    out.emit("drain");
    await drained;
    await sink.flush(1); // never drains: the timeout ends it
  });
});
