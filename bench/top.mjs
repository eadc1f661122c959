import { readFileSync, readdirSync } from "node:fs";
const dir = ".bench"; const f = readdirSync(dir).filter(x => x.endsWith(".cpuprofile")).sort().pop();
const prof = JSON.parse(readFileSync(`${dir}/${f}`, "utf8"));
const byId = new Map(prof.nodes.map(n => [n.id, n]));
const self = new Map(); let total = 0;
prof.samples.forEach((id, i) => { const n = byId.get(id); const k = `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.replace(/^.*\/(node_modules\/|dist\/)/, "$1")}:${n.callFrame.lineNumber + 1}`; const d = prof.timeDeltas[i] ?? 0; total += d; self.set(k, (self.get(k) ?? 0) + d); });
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[2] ?? 18))) console.log(((v / total) * 100).toFixed(1).padStart(5) + "% " + k);
