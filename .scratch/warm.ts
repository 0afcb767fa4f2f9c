import { createEntity, memoryRendezvous } from '@fara/sdk'
const rendezvous = memoryRendezvous()
const server = await createEntity({ app: 'echo-s', rendezvous, listen: ['/ip4/127.0.0.1/tcp/0'] })
await server.serve('echo', async (a) => { for await (const c of a) a.send(c); await a.close() })
const client = await createEntity({ app: 'echo-c', rendezvous, recordCache: true, listen: [] })
const port = server.multiaddrs[0]!.toString().split('/')[4]
console.log('PORT', port)
async function once (): Promise<number> {
  const t = performance.now()
  const a = await client.connect('echo')
  a.send(Uint8Array.of(42))
  const it = a[Symbol.asyncIterator]()
  await it.next()
  const ms = performance.now() - t
  await a.close()
  while (!(await it.next()).done) {}
  await a.finished
  return ms
}
const ms: number[] = []
for (let i = 0; i < 30; i++) { ms.push(await once()); await new Promise(r => setTimeout(r, 50)) }
ms.sort((a, b) => a - b)
console.log('median', ms[15].toFixed(2), 'min', ms[0].toFixed(2))
if (process.env.DUMP) {
  await new Promise(r => setTimeout(r, 500))
  console.log('GO'); await new Promise(r => setTimeout(r, 300))
  console.log('one', (await once()).toFixed(2))
}
await client.close(); await server.close()
