import { readFileSync, readdirSync } from 'node:fs'
const dir = process.argv[2]!
const incl = new Map<string, number>(); const self = new Map<string, number>()
let total = 0; let idle = 0; let wall = 0
for (const f of readdirSync(dir).filter(f => f.endsWith('.cpuprofile'))) {
  const p = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'))
  const byId = new Map<number, any>(p.nodes.map((n: any) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  wall += (p.endTime - p.startTime) / 1000
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i] ?? 0) / 1000
    let id = p.samples[i]; const n = byId.get(id)
    const name = (x: any) => `${x.callFrame.functionName || '(anon)'} ${x.callFrame.url.split('/node_modules/').pop()!.split('/work/main/').pop()}:${x.callFrame.lineNumber}`
    if (n.callFrame.functionName === '(idle)') { idle += dt; continue }
    total += dt
    self.set(name(n), (self.get(name(n)) ?? 0) + dt)
    const seen = new Set<string>()
    while (id != null) { const x = byId.get(id); const k = name(x); if (!seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) ?? 0) + dt) } id = parent.get(id)! }
  }
}
console.log(`wall ${wall.toFixed(1)} ms, busy ${total.toFixed(1)} ms, idle ${idle.toFixed(1)} ms`)
const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${(v).toFixed(1).padStart(7)} ms ${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`).join('\n')
console.log('INCLUSIVE'); console.log(top(incl, Number(process.argv[3] ?? 70)))
console.log('SELF'); console.log(top(self, 25))
