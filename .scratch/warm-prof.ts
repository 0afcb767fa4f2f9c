import { Session } from 'node:inspector/promises'
import { writeFileSync } from 'node:fs'
import { createEntity, memoryRendezvous } from '@fara/sdk'
const rendezvous = memoryRendezvous()
const server = await createEntity({ app: 'echo-s', rendezvous, listen: ['/ip4/127.0.0.1/tcp/0'] })
await server.serve('echo', async (a) => { for await (const c of a) a.send(c); await a.close() })
const client = await createEntity({ app: 'echo-c', rendezvous, recordCache: true, listen: [] })
const session = new Session(); session.connect()
await session.post('Profiler.enable'); await session.post('Profiler.setSamplingInterval', { interval: 50 })
let total = 0
async function once (profile: boolean): Promise<number> {
  if (profile) await session.post('Profiler.start')
  const t = performance.now()
  const a = await client.connect('echo')
  a.send(Uint8Array.of(42))
  const it = a[Symbol.asyncIterator]()
  await it.next()
  const ms = performance.now() - t
  if (profile) {
    const { profile: p } = await session.post('Profiler.stop')
    writeFileSync(`/tmp/wprof2/w${total++}.cpuprofile`, JSON.stringify(p))
  }
  await a.close()
  while (!(await it.next()).done) {}
  await a.finished
  return ms
}
for (let i = 0; i < 10; i++) { await once(false); await new Promise(r => setTimeout(r, 50)) }
const ms: number[] = []
for (let i = 0; i < 20; i++) { ms.push(await once(true)); await new Promise(r => setTimeout(r, 50)) }
ms.sort((a, b) => a - b)
console.log('median', ms[10].toFixed(2), 'min', ms[0].toFixed(2))
await client.close(); await server.close()
