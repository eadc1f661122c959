import { expect } from "chai";
import { formatIP, goTrimSpace, ipString, parseIP } from "../../src/addr/ip.js";
import { formatInterval, parseAddressSpec, parseGoCIDR, summarize } from "../../src/addr/interval.js";

describe("addr/ip: Go net.ParseIP", () => {
  const cases: [string, string | null][] = [
    ["10.0.0.1", "10.0.0.1"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    ["256.0.0.1", null],
    ["10.0.0.01", null], // leading zero
    ["010.0.0.1", null],
    ["10.0.0", null],
    ["10.0.0.1.", null],
    ["10.0.0.1 ", null], // no trimming
    [" 10.0.0.1", null],
    ["+1.2.3.4", null],
    ["2001:db8::1", "2001:db8::1"],
    ["2001:DB8::1", "2001:db8::1"],
    ["fc00:f853:0ccd:e799::", "fc00:f853:ccd:e799::"],
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["1:2:3:4:5:6:7:8:9", null],
    ["1::2::3", null],
    [":1::", null],
    ["1:", null],
    [":::", null],
    ["12345::", null],
    ["fe80::1%eth0", null], // zones are not IPs
    ["::ffff:10.0.0.1", "10.0.0.1"], // IPv4-mapped is IPv4
    ["::FFFF:10.0.0.1", "10.0.0.1"],
    ["::ffff:10.0.0.01", null],
    ["::10.0.0.1", "::a00:1"], // IPv4-compatible stays IPv6
    ["1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"],
    ["1:2:3:4:5:6:7:1.2.3.4", null],
    ["", null],
    ["not-an-ip", null],
    ["x".repeat(10000), null],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input.length > 40 ? input.slice(0, 20) + "…" : input)} → ${want}`, () => {
      const ip = parseIP(input);
      if (want === null) expect(ip).to.equal(null);
      else expect(ip && ipString(ip)).to.equal(want);
    });
  }

  it("formats IPv6 like Go (longest zero run, first on ties)", () => {
    expect(formatIP(6, parseIP("1:0:0:1:0:0:0:1")!.v)).to.equal("1:0:0:1::1");
    expect(formatIP(6, parseIP("1:0:0:1:0:0:1:1")!.v)).to.equal("1::1:0:0:1:1");
    expect(formatIP(6, parseIP("1:0:1:1:1:1:1:1")!.v)).to.equal("1:0:1:1:1:1:1:1");
  });

  it("trims like Go's strings.TrimSpace, not like String.trim", () => {
    expect(goTrimSpace("\u0085 10.0.0.1\t")).to.equal("10.0.0.1");
    expect(goTrimSpace("\ufeff10.0.0.1")).to.equal("\ufeff10.0.0.1");
  });
});

describe("addr/interval: Go net.ParseCIDR and friends", () => {
  it("masks host bits and rejects bare IPs, spaces and bad lengths", () => {
    expect(formatInterval(parseGoCIDR("192.168.10.5/24")!.iv)).to.equal("192.168.10.0/24");
    expect(parseGoCIDR("10.0.0.1")).to.equal(null);
    expect(parseGoCIDR(" 10.0.0.0/8")).to.equal(null);
    expect(parseGoCIDR("10.0.0.0/33")).to.equal(null);
    expect(parseGoCIDR("10.0.0.0/")).to.equal(null);
    expect(parseGoCIDR("10.0.0.0/-1")).to.equal(null);
    expect(parseGoCIDR("10.0.0.0/ 8")).to.equal(null);
    expect(formatInterval(parseGoCIDR("10.0.0.0/08")!.iv)).to.equal("10.0.0.0/8"); // Go's dtoi takes leading zeros
    expect(formatInterval(parseGoCIDR("::/0")!.iv)).to.equal("::/0");
    expect(parseGoCIDR("2001:db8::/129")).to.equal(null);
  });

  it("treats IPv4-mapped prefixes of /96 and longer as IPv4 (/96 is all of IPv4), shorter ones as IPv6", () => {
    const a = parseGoCIDR("::ffff:10.0.0.0/120")!;
    expect(a.iv.fam).to.equal(4);
    expect(formatInterval(a.iv)).to.equal("10.0.0.0/24");
    const b = parseGoCIDR("::ffff:0:0/96")!;
    expect(b.iv.fam).to.equal(4);
    expect(formatInterval(b.iv)).to.equal("0.0.0.0/0");
    expect(formatInterval(parseGoCIDR("::ffff:0.0.0.0/96")!.iv)).to.equal("0.0.0.0/0");
    const c = parseGoCIDR("::ffff:0:0/80")!;
    expect(c.iv.fam).to.equal(6);
  });

  it("summarizes ranges into CIDRs as ipaddr.Summarize does", () => {
    expect(summarize({ fam: 4, lo: parseIP("192.168.9.1")!.v, hi: parseIP("192.168.9.5")!.v })).to.deep.equal([
      "192.168.9.1/32",
      "192.168.9.2/31",
      "192.168.9.4/31",
    ]);
    expect(summarize({ fam: 4, lo: 0n, hi: 0xffffffffn })).to.deep.equal(["0.0.0.0/0"]);
  });

  it("parses the policy's own notation (IP, CIDR, range)", () => {
    expect(formatInterval(parseAddressSpec("10.0.4.1") as never)).to.equal("10.0.4.1");
    expect(formatInterval(parseAddressSpec("10.0.4.0/30") as never)).to.equal("10.0.4.0/30");
    expect(formatInterval(parseAddressSpec("10.0.4.1 - 10.0.4.9") as never)).to.equal("10.0.4.1-10.0.4.9");
    expect(parseAddressSpec("10.0.4.9-10.0.4.1")).to.be.a("string");
    expect(parseAddressSpec("10.0.4.1-::1")).to.be.a("string");
    expect(parseAddressSpec("nope")).to.be.a("string");
  });
});
