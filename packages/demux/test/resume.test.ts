import { createHash, randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { readAll, rejection } from '@fara/testkit'
import { createDemux, decodeResume, decodeResumeReply, encodeResume, randomAid } from '../src/index.ts'
import { RESUME_PROOF_BYTES, RESUME_TOKEN_BYTES, ResumeCode } from '../src/constants.ts'
import { StreamReader, lengthPrefixed } from '../src/internal/reader.ts'
import { echo, pair, peers, sendAll, useStreams } from './fixtures.ts'
import type { Association, Demux, DemuxInit } from '../src/index.ts'
import type { Stream } from '@libp2p/interface'

useStreams()

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

interface Link {
  initiator: Demux<string>
  responder: Demux<string>
  serviceAid: Uint8Array
  /** The current path's two ends: [initiator side, responder side]. */
  current: () => [Stream, Stream]
  /** How many paths were opened (first one included). */
  paths: () => number
  /** Associations the responder accepted (first Open only). */
  accepted: Promise<Association>
  /** Make the next reconnect attempts fail until `heal()`. */
  partition: () => void
  heal: () => void
  /** Hand the next resume stream to the test instead of the responder. */
  intercept: () => Promise<Stream>
  /** Break the current path: both ends see a reset, as when a TCP connection dies. */
  cut: () => void
}

async function link (init: DemuxInit = {}): Promise<Link & { association: Association }> {
  const initiator = createDemux<string>(init)
  const responder = createDemux<string>(init)
  const serviceAid = responder.listen('echo')
  let current: [Stream, Stream]
  let paths = 0
  let partitioned = false
  let interceptor: ((s: Stream) => void) | undefined
  let resolveAccepted!: (a: Association) => void
  const accepted = new Promise<Association>(resolve => { resolveAccepted = resolve })

  const [out, inb] = await pair()
  current = [out, inb]
  paths++
  responder.accept(inb, peers.alice).then(({ association }) => { resolveAccepted(association) }, () => {})
  const association = initiator.open(out, serviceAid, peers.bob, {
    resume: {
      reconnect: async () => {
        if (partitioned) throw new Error('network unreachable')
        const [o, i] = await pair()
        current = [o, i]
        paths++
        if (interceptor != null) {
          const take = interceptor
          interceptor = undefined
          take(i)
        } else {
          responder.resume(i, peers.alice).catch(() => {})
        }
        return o
      }
    }
  })
  return {
    initiator,
    responder,
    serviceAid,
    association,
    accepted,
    current: () => current,
    paths: () => paths,
    partition: () => { partitioned = true },
    heal: () => { partitioned = false },
    intercept: async () => new Promise<Stream>(resolve => { interceptor = resolve }),
    cut: () => { current[0].abort(new Error('connection lost')); current[1].abort(new Error('connection lost')) }
  }
}


describe('resumable associations', () => {
  it('negotiates resumption and echoes 4 MiB intact without a break', async () => {
    const l = await link()
    const payload = randomBytes(4 << 20)
    expect(l.association.resumable).toBe(true)
    const [, received] = await Promise.all([sendAll(l.association, payload, 64 << 10), readAll(l.association), l.accepted.then(echo)])
    expect(sha(received)).toBe(sha(payload))
    expect(l.association.resumptions).toBe(0)
    await l.association.finished
    expect((await l.accepted).resumable).toBe(true)
  })

  it('continues over a new path after the connection is cut mid-transfer: nothing lost, duplicated or reordered', async () => {
    const l = await link()
    const payload = randomBytes(8 << 20)
    const firstAid = Buffer.from(l.association.localAid).toString('hex')
    let cuts = 0
    const sending = sendAll(l.association, payload, 100_000, (sent) => {
      // cut the path three times while data flows both ways
      if (sent >= (cuts + 1) * (2 << 20) && cuts < 3 && l.paths() === cuts + 1) { cuts++; l.cut() }
    })
    const [, received, server] = await Promise.all([sending, readAll(l.association), l.accepted.then(async a => { await echo(a); return a })])
    expect(cuts).toBe(3)
    expect(received.byteLength).toBe(payload.byteLength)
    expect(sha(received)).toBe(sha(payload))
    expect(l.association.resumptions).toBeGreaterThanOrEqual(3)
    expect(server.resumptions).toBe(l.association.resumptions)
    expect(l.paths()).toBe(1 + l.association.resumptions)
    // each path has fresh AIds at both ends
    expect(Buffer.from(l.association.localAid).toString('hex')).not.toBe(firstAid)
    await Promise.all([l.association.finished, server.finished])
  })

  it('keeps buffering while the network is unreachable and resumes when it comes back', async () => {
    const l = await link()
    const server = await l.accepted
    await l.association.accepted
    const payload = randomBytes(1 << 20)
    l.association.send(payload.subarray(0, 1000))
    const first = await server[Symbol.asyncIterator]().next()
    expect(first.value?.byteLength).toBeGreaterThan(0)
    l.partition()
    l.cut()
    // sent while no path exists: kept, not lost
    l.association.send(payload.subarray(1000))
    // close() resolves once the end is handed to a path: not while there is none
    const closing = l.association.close()
    const reattempted = l.paths()
    l.heal()
    const [rest] = await Promise.all([readAll(server), closing])
    expect(sha(Buffer.concat([first.value!, rest]))).toBe(sha(payload))
    expect(l.paths()).toBeGreaterThanOrEqual(reattempted + 1)
  })

  it('fails with ResumeFailedError when no path comes back within the resume timeout', async () => {
    const l = await link({ resumeTimeout: 300 })
    const server = await l.accepted
    await l.association.accepted
    l.association.send(new Uint8Array([1, 2, 3]))
    l.partition()
    l.cut()
    const reading = readAll(l.association)
    expect((await rejection(reading)).name).toBe('ResumeFailedError')
    expect((await rejection(l.association.finished)).name).toBe('ResumeFailedError')
    expect((await rejection(readAll(server))).name).toBe('ResumeFailedError')
  })

  it('refuses a Resume replayed by another peer, or with a wrong proof or token, and accepts the genuine one', async () => {
    const l = await link()
    const server = await l.accepted
    await l.association.accepted
    l.association.send(new TextEncoder().encode('before'))
    const intercepted = l.intercept()
    l.cut()
    const genuineStream = await intercepted
    const reader = new StreamReader(genuineStream)
    const genuine = decodeResume(await reader.readFrame(128, 'Resume'))
    const mallory = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

    const attempt = async (frame: Parameters<typeof encodeResume>[0], peer = peers.alice): Promise<{ error: Error, code: number }> => {
      const [o, i] = await pair()
      o.send(lengthPrefixed(encodeResume(frame)))
      const replyReader = new StreamReader(o)
      const error = await rejection(l.responder.resume(i, peer))
      const reply = decodeResumeReply(await replyReader.readFrame(256, 'ResumeReply'))
      return { error, code: reply.code }
    }
    // the genuine frame, replayed by another peer
    const replay = await attempt(genuine, mallory)
    // right peer, proof with one bit flipped
    const flipped = new Uint8Array(genuine.proof)
    flipped[0] = flipped[0]! ^ 1
    const wrongProof = await attempt({ ...genuine, proof: flipped })
    // right peer, a token nobody was given
    const wrongToken = await attempt({ ...genuine, token: randomBytes(RESUME_TOKEN_BYTES), proof: randomBytes(RESUME_PROOF_BYTES) })
    for (const r of [replay, wrongProof, wrongToken]) {
      expect(r.error.name).toBe('ResumeRefusedError')
      expect(r.code).toBe(ResumeCode.REFUSED)
    }
    // the genuine one still works: hand the intercepted stream (its Resume already read) to a fresh responder-side read
    const [o, i] = await pair()
    const relay = l.responder.resume(i, peers.alice)
    o.send(lengthPrefixed(encodeResume(genuine)))
    // pipe the responder's answer and everything after it back to the initiator, and the initiator's bytes on
    genuineStream.addEventListener('message', (evt) => { o.send((evt as unknown as { data: Uint8Array }).data) })
    o.addEventListener('message', (evt) => { genuineStream.send((evt as unknown as { data: Uint8Array }).data) })
    reader.detach()
    await relay
    l.association.send(new TextEncoder().encode(' after'))
    await l.association.close()
    expect(new TextDecoder().decode(await readAll(server))).toBe('before after')
  })

  it('refuses to continue when the responder cannot prove the key', async () => {
    const l = await link({ resumeTimeout: 5_000 })
    await l.accepted
    await l.association.accepted
    l.association.send(new Uint8Array([1]))
    const intercepted = l.intercept()
    l.cut()
    const stream = await intercepted
    const reader = new StreamReader(stream)
    const frame = decodeResume(await reader.readFrame(128, 'Resume'))
    expect(frame.received).toBe(0)
    // an impostor answers "accepted" without knowing the key
    const { encodeResumeReply } = await import('../src/index.ts')
    stream.send(lengthPrefixed(encodeResumeReply({ code: ResumeCode.ACCEPTED, responderAid: randomAid(), received: 0, proof: randomBytes(RESUME_PROOF_BYTES), message: '' })))
    const err = await rejection(readAll(l.association))
    expect(err.name).toBe('ResumeFailedError')
  })

  it('reports a deliberate abort to the other end as a reset, without resuming', async () => {
    const l = await link()
    const server = await l.accepted
    l.association.send(new Uint8Array([1, 2, 3]))
    const first = await server[Symbol.asyncIterator]().next()
    expect(first.done).toBe(false)
    l.association.abort(new Error('user cancelled'))
    const err = await rejection(readAll(server))
    expect(err.name).toBe('AssociationResetError')
    expect(l.paths()).toBe(1)
  })

  it('aborts on a malformed data frame with a typed error', async () => {
    const responder = createDemux<string>()
    const serviceAid = responder.listen('echo')
    const [out, inb] = await pair()
    const initiator = createDemux<string>()
    const a = initiator.open(out, serviceAid, peers.bob, { resume: { reconnect: async () => { throw new Error('no') } } })
    const { association: server } = await responder.accept(inb, peers.alice)
    await a.accepted
    // an ACK for bytes never sent
    out.send(lengthPrefixed(Uint8Array.from([1, 0x80, 0x80, 0x04, 0])))
    const err = await rejection(readAll(server))
    expect(err.name).toBe('MalformedFrameError')
  })

  it('keeps a plain (non-resumable) association when the initiator does not ask', async () => {
    const responder = createDemux<string>()
    const serviceAid = responder.listen('echo')
    const [out, inb] = await pair()
    const a = createDemux<string>().open(out, serviceAid, peers.bob)
    const { association: server } = await responder.accept(inb, peers.alice)
    expect(a.resumable).toBe(false)
    expect(server.resumable).toBe(false)
  })

  it('refuses a resumable Open when the responder disabled resumption', async () => {
    const responder = createDemux<string>({ resumable: false })
    const serviceAid = responder.listen('echo')
    const [out, inb] = await pair()
    const a = createDemux<string>().open(out, serviceAid, peers.bob, { resume: { reconnect: async () => { throw new Error('no') } } })
    await rejection(responder.accept(inb, peers.alice))
    expect((await rejection(a.accepted)).name).toBe('AssociationRejectedError')
  })
})
