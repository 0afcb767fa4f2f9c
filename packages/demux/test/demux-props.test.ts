// Property tests of the demux state machines over real libp2p stream pairs:
// accept(), resume(), open()'s wait for the Reply and the data phase of a
// resumable association, fed arbitrary, mutated and forged bytes. Each run
// predicts the outcome with a small reference model and checks that the
// promise settles with exactly that (typed) outcome, never hangs, leaves the
// association table as it found it, and that the demux still works afterwards.
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { rejectionIfAny, thrownIfAny, until } from '@fara/testkit'
import {
  ReplyCode, createDemux,
  decodeOpen, decodeReply, decodeResume, decodeResumeReply, encodeOpen, encodeReply, encodeResume, randomAid
} from '../src/index.ts'
import { MAX_OPEN_FRAME_BYTES, MAX_REPLY_FRAME_BYTES, MAX_RESUME_FRAME_BYTES, ResumeCode } from '../src/constants.ts'
import { FrameType, MAX_DATA_FRAME_BYTES, decodeDataPhaseFrame } from '../src/internal/data-frames.ts'
import { StreamReader, lengthPrefixed } from '../src/internal/reader.ts'
import { initiatorProof, resumeKey, resumeToken } from '../src/internal/resume-keys.ts'
import {
  budget, chunksOf, cutting, equalBytes, mutate, mutations, protobufSoup, refFrames, propsFile, runs, settles, varint
} from './arbitraries.ts'
import { pair, peers, useStreams } from './fixtures.ts'
import type { Accepted, Association, Demux } from '../src/index.ts'
import type { Stream } from '@libp2p/interface'

useStreams()
propsFile('demux/demux-props')

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const bytesOf = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n })
/** How long any one step may take before the run counts as a hang. */
const HANG_MS = 5_000

/**
 * Send `input` on `stream` cut at `cuts`, then half-close it. The other end
 * may already have reset the stream (it refused what it read): then sending
 * throws and libp2p's close() rejects (with a bare `Event`), which is fine here.
 */
async function feed (stream: Stream, input: Uint8Array, cuts: 'single' | number[]): Promise<void> {
  try {
    for (const chunk of chunksOf(input, cuts)) stream.send(chunk)
    await stream.close()
  } catch {
    expect(stream.status).not.toBe('open')
  }
}

/** The first length-prefixed frame of `input` (a complete stream), or the typed error reading it must end with. */
function firstFrame (input: Uint8Array, max: number): { frame: Uint8Array } | { error: string } {
  const { frames, end } = refFrames(input, max)
  return frames[0] == null ? { error: end } : { frame: frames[0] }
}

/** Bytes a peer might send where a frame is expected: noise, protobuf soup, mutated valid frames, valid frames with a tail. */
function framed (valid: fc.Arbitrary<Uint8Array>, fields: number): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 90 }) },
    { weight: 1, arbitrary: protobufSoup(fields, 6, 40).map(lengthPrefixed) },
    { weight: 3, arbitrary: fc.tuple(valid, mutations()).map(([v, m]) => mutate(lengthPrefixed(v), m)) },
    { weight: 2, arbitrary: fc.tuple(valid, mutations()).map(([v, m]) => lengthPrefixed(mutate(v, m))) },
    { weight: 1, arbitrary: fc.tuple(valid, fc.uint8Array({ maxLength: 20 })).map(([v, tail]) => Uint8Array.from([...lengthPrefixed(v), ...tail])) }
  )
}

/** Play the initiator of a resumable association by hand: send a version 2 Open, read the Reply. */
async function openByHand (responder: Demux<string>, serviceAid: Uint8Array): Promise<{ association: Association, out: Stream, key: Uint8Array, token: Uint8Array }> {
  const [out, inb] = await pair()
  const initiatorAid = randomAid()
  const nonce = new Uint8Array(randomBytes(32))
  out.send(lengthPrefixed(encodeOpen({ aid: serviceAid, initiatorAid, resumeNonce: nonce })))
  const { association } = await settles(responder.accept(inb, peers.alice), HANG_MS, 'accept')
  const reply = decodeReply(await new StreamReader(out).readFrame(MAX_REPLY_FRAME_BYTES, 'Reply'))
  const key = resumeKey(nonce, reply.resumeNonce!, initiatorAid, reply.responderAid)
  return { association, out, key, token: resumeToken(key, 0) }
}

/** The responder still accepts a well-formed Open on a fresh stream. */
async function stillAccepts (responder: Demux<string>, serviceAid: Uint8Array): Promise<void> {
  const [out, inb] = await pair()
  out.send(lengthPrefixed(encodeOpen({ aid: serviceAid, initiatorAid: randomAid() })))
  const { association, service } = await settles(responder.accept(inb, peers.alice), HANG_MS, 'accept of a good Open')
  expect(service).toBe('echo')
  association.abort(new Error('test over'))
}

async function tableReturnsTo (demux: Demux<string>, n: number): Promise<void> {
  await until(() => demux.associations === n, `association count back to ${n} (is ${demux.associations})`, { timeoutMs: HANG_MS, intervalMs: 1 })
}

describe('accept() fed arbitrary and mutated Opens (properties)', () => {
  const responder = createDemux<string>({ openTimeout: 2_000, resumeTimeout: 50 })
  const serviceAid = responder.listen('echo')
  const validOpen = fc.oneof(
    fc.record({ aid: fc.constant(serviceAid), initiatorAid: bytesOf(8) }).map(f => encodeOpen(f)),
    fc.record({ aid: fc.constant(serviceAid), initiatorAid: bytesOf(8), resumeNonce: bytesOf(32) }).map(f => encodeOpen(f)),
    fc.record({ aid: fc.constant(serviceAid), initiatorAid: bytesOf(8), version: fc.integer({ min: 0, max: 2 ** 32 - 1 }).filter(v => v !== 2) }).map(f => encodeOpen(f))
  )

  /** The reference: what accept() must do with a stream that carries `input` and then ends. */
  function expected (input: Uint8Array): { accepted: true, version: number, initiatorAid: Uint8Array } | { error: string, reply?: number } {
    const first = firstFrame(input, MAX_OPEN_FRAME_BYTES)
    if ('error' in first) return { error: first.error, ...(first.error === 'AssociationClosedError' ? {} : { reply: ReplyCode.MALFORMED }) }
    let open
    const err = thrownIfAny(() => { open = decodeOpen(first.frame) })
    if (err != null || open == null) return { error: err!.name, reply: ReplyCode.MALFORMED }
    const o = open as ReturnType<typeof decodeOpen>
    if (o.version !== 1 && o.version !== 2) return { error: 'AssociationRejectedError', reply: ReplyCode.UNSUPPORTED_VERSION }
    if (!equalBytes(o.aid, serviceAid)) return { error: 'AssociationRejectedError', reply: ReplyCode.UNKNOWN_AID }
    return { accepted: true, version: o.version, initiatorAid: o.initiatorAid }
  }

  it('settles exactly as the reference says, answers with the right Reply code, frees every AId and keeps accepting', async () => {
    await fc.assert(fc.asyncProperty(framed(validOpen, 5), cutting, async (input, cuts) => {
      const want = expected(input)
      const before = responder.associations
      const [out, inb] = await pair()
      // listening from the start: a resumable association that loses its path resets the stream, and
      // libp2p hands bytes that arrived before a reset only to a reader that was already there
      const replies = new StreamReader(out)
      let accepted: Accepted<string> | undefined
      try {
        const accepting = rejectionIfAny(responder.accept(inb, peers.alice).then(a => { accepted = a }))
        await feed(out, input, cuts)
        const err = await settles(accepting, HANG_MS, 'accept')
        const reply = 'reply' in want || 'accepted' in want
          ? decodeReply(await settles(replies.readFrame(MAX_REPLY_FRAME_BYTES, 'Reply'), HANG_MS, 'Reply'))
          : undefined
        if ('accepted' in want) {
          expect(err).toBeUndefined()
          expect(hex(accepted!.association.remoteAid!)).toBe(hex(want.initiatorAid))
          expect(accepted!.association.resumable).toBe(want.version === 2)
          expect(reply?.code).toBe(ReplyCode.ACCEPTED)
          expect(reply?.resumeNonce != null).toBe(want.version === 2)
        } else {
          expect(err?.name).toBe(want.error)
          if (want.error === 'AssociationRejectedError') expect((err as Error & { code: number }).code).toBe(want.reply)
          expect(reply?.code).toBe(want.reply)
        }
      } finally {
        accepted?.association.abort(new Error('test over'))
      }
      await tableReturnsTo(responder, before)
      await stillAccepts(responder, serviceAid)
      await tableReturnsTo(responder, before)
    }), { numRuns: runs(150) })
  }, budget(30_000))

  it('gives up with AssociationClosedError within the open timeout when a partial Open never completes', async () => {
    const quick = createDemux<string>({ openTimeout: 30 })
    const aid = quick.listen('echo')
    await fc.assert(fc.asyncProperty(
      fc.tuple(bytesOf(8), bytesOf(8)).map(([a, i]) => lengthPrefixed(encodeOpen({ aid: a, initiatorAid: i }))),
      fc.nat(), cutting,
      async (open, cut, cuts) => {
        const partial = open.subarray(0, cut % open.byteLength)
        const [out, inb] = await pair()
        const accepting = rejectionIfAny(quick.accept(inb, peers.alice))
        for (const chunk of chunksOf(partial, cuts)) out.send(chunk)
        // the stream stays open: only the open timeout can end this
        const err = await settles(accepting, HANG_MS, 'accept of a partial Open')
        expect(err?.name).toBe('AssociationClosedError')
        expect(quick.associations).toBe(0)
        await stillAccepts(quick, aid)
      }), { numRuns: runs(15) })
  }, budget(30_000))
})

describe('resume() fed arbitrary, mutated, forged and replayed Resumes (properties)', () => {
  const responder = createDemux<string>({ openTimeout: 2_000, resumeTimeout: 5_000 })
  const serviceAid = responder.listen('echo')

  it('accepts a Resume only when it carries the current token and a proof under the key, refuses replays, and frees every AId', async () => {
    const fresh = bytesOf(8)
    await fc.assert(fc.asyncProperty(
      fresh, fc.option(mutations(), { nil: undefined, freq: 4 }), fc.constantFrom('prefix', 'body', 'noise', 'soup'), fc.boolean(), cutting, fc.uint8Array({ maxLength: 90 }), protobufSoup(6, 6, 40),
      async (newAid, changes, where, otherPeer, cuts, noise, soup) => {
        const before = responder.associations
        const { association, key, token } = await openByHand(responder, serviceAid)
        try {
          const valid = encodeResume({ token, initiatorAid: newAid, received: 0, proof: initiatorProof(key, token, newAid, 0) })
          let input: Uint8Array
          if (where === 'noise') input = noise
          else if (where === 'soup') input = lengthPrefixed(soup)
          else if (changes == null) input = lengthPrefixed(valid)
          else input = where === 'prefix' ? mutate(lengthPrefixed(valid), changes) : lengthPrefixed(mutate(valid, changes))
          const peer = otherPeer ? peers.bob : peers.alice

          // the reference
          let want: { error: string, code?: number } | 'accepted'
          const first = firstFrame(input, MAX_RESUME_FRAME_BYTES)
          if ('error' in first) want = { error: first.error, ...(first.error === 'AssociationClosedError' ? {} : { code: ResumeCode.MALFORMED }) }
          else {
            let frame: ReturnType<typeof decodeResume> | undefined
            const err = thrownIfAny(() => { frame = decodeResume(first.frame) })
            if (err != null) want = { error: err.name, code: ResumeCode.MALFORMED }
            else if (frame!.version !== 1) want = { error: 'ResumeRefusedError', code: ResumeCode.UNSUPPORTED_VERSION }
            else if (!equalBytes(frame!.token, token) || otherPeer || !equalBytes(frame!.proof, initiatorProof(key, token, frame!.initiatorAid, frame!.received))) {
              want = { error: 'ResumeRefusedError', code: ResumeCode.REFUSED }
            } else want = 'accepted'
          }

          const [o, i] = await pair()
          const answers = new StreamReader(o)
          const resuming = rejectionIfAny(responder.resume(i, peer))
          await feed(o, input, cuts)
          const err = await settles(resuming, HANG_MS, 'resume')
          const answer = want === 'accepted' || want.code != null
            ? decodeResumeReply(await settles(answers.readFrame(256, 'ResumeReply'), HANG_MS, 'ResumeReply'))
            : undefined
          if (want === 'accepted') {
            expect(err).toBeUndefined()
            expect(answer?.code).toBe(ResumeCode.ACCEPTED)
            expect(association.resumptions).toBe(1)
            // the same bytes again: the token was single use
            const [o2, i2] = await pair()
            const replaying = rejectionIfAny(responder.resume(i2, peers.alice))
            await feed(o2, lengthPrefixed(valid), [])
            expect((await settles(replaying, HANG_MS, 'replayed resume'))?.name).toBe('ResumeRefusedError')
          } else {
            expect(err?.name).toBe(want.error)
            expect(answer?.code).toBe(want.code)
            expect(association.resumptions).toBe(0)
          }
        } finally {
          association.abort(new Error('test over'))
        }
        await tableReturnsTo(responder, before)
        await stillAccepts(responder, serviceAid)
        await tableReturnsTo(responder, before)
      }), { numRuns: runs(150) })
  }, budget(30_000))
})

describe('open() fed arbitrary and mutated Replies (properties)', () => {
  const initiator = createDemux<string>({ openTimeout: 2_000, resumeTimeout: 50 })

  it('settles accepted exactly as the reference says, else with the typed error, and frees its AId', async () => {
    const validReply = (resumable: boolean): fc.Arbitrary<Uint8Array> => fc.oneof(
      fc.record({ responderAid: bytesOf(8), resumeNonce: resumable ? bytesOf(32) : fc.constant(undefined) })
        .map(({ responderAid, resumeNonce }) => encodeReply({ code: ReplyCode.ACCEPTED, responderAid, message: '', ...(resumeNonce == null ? {} : { resumeNonce }) })),
      fc.record({ code: fc.constantFrom(1, 2, 3, 4) as fc.Arbitrary<ReplyCode>, message: fc.string({ maxLength: 40 }) })
        .map(f => encodeReply({ ...f, responderAid: new Uint8Array(0) }))
    )
    await fc.assert(fc.asyncProperty(
      fc.boolean().chain(resumable => fc.tuple(fc.constant(resumable), framed(validReply(resumable), 5))), cutting,
      async ([resumable, input], cuts) => {
        let want: string | 'accepted'
        const first = firstFrame(input, MAX_REPLY_FRAME_BYTES)
        if ('error' in first) want = first.error
        else {
          let reply: ReturnType<typeof decodeReply> | undefined
          const err = thrownIfAny(() => { reply = decodeReply(first.frame) })
          if (err != null) want = err.name
          else if (reply!.code !== ReplyCode.ACCEPTED) want = 'AssociationRejectedError'
          else if ((reply!.resumeNonce != null) !== resumable) want = 'AssociationClosedError'
          else want = 'accepted'
        }
        const before = initiator.associations
        const [out, inb] = await pair()
        const a = initiator.open(out, randomAid(), peers.bob, resumable ? { resume: { reconnect: async () => { throw new Error('no new path in this test') } } } : {})
        try {
          const accepted = rejectionIfAny(a.accepted)
          await new StreamReader(inb).readFrame(MAX_OPEN_FRAME_BYTES, 'Open')
          await feed(inb, input, cuts)
          const err = await settles(accepted, HANG_MS, 'accepted')
          if (want === 'accepted') expect(err).toBeUndefined()
          else expect(err?.name).toBe(want)
        } finally {
          a.abort(new Error('test over'))
        }
        await tableReturnsTo(initiator, before)
      }), { numRuns: runs(150) })
  }, budget(30_000))
})

// ---- the data phase ----------------------------------------------------------

/** A data-phase frame body, as a peer might send it: mostly well-formed, sometimes not. */
const phaseFrame = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 40 }).map(p => Uint8Array.from([FrameType.DATA, ...p])) },
  { weight: 3, arbitrary: fc.tuple(fc.oneof(fc.integer({ min: 0, max: 40 }), fc.nat()), fc.integer({ min: 0, max: 2 })).map(([n, f]) => Uint8Array.from([FrameType.ACK, ...varint(n), f])) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 200 }).map(n => Uint8Array.from([FrameType.FIN, ...varint(n)])) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map(r => Uint8Array.from([FrameType.ABORT, ...new TextEncoder().encode(r)])) },
  { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n }).map(n => Uint8Array.from([FrameType.FIN, ...varint(n)])) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 12 }) }
)

/** Raw pieces of the stream: a framed body, or a broken length prefix (empty, oversized, over-long). */
const phasePiece = fc.oneof(
  { weight: 12, arbitrary: phaseFrame.map(lengthPrefixed) },
  { weight: 1, arbitrary: fc.constant(Uint8Array.of(0)) },
  { weight: 1, arbitrary: fc.integer({ min: MAX_DATA_FRAME_BYTES + 1, max: 2 ** 35 }).map(n => Uint8Array.from(varint(n))) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 4 }) }
)

/**
 * The reference receiver (spec/resumption.md#data-frames) for a responder that
 * sent `sent` bytes and no FIN: the error that must end the association (after
 * the stream ends, a clean sequence loses its path: ResumeFailedError once the
 * resume timeout passes) and the data it must deliver first.
 */
function dataPhase (input: Uint8Array, sent: number): { error: string, data: Uint8Array, fin: boolean } {
  const { frames, end } = refFrames(input, MAX_DATA_FRAME_BYTES)
  const data: number[] = []
  let fin = false
  for (const body of frames) {
    let frame: ReturnType<typeof decodeDataPhaseFrame>
    try {
      frame = decodeDataPhaseFrame(body)
    } catch {
      return { error: 'MalformedFrameError', data: Uint8Array.from(data), fin }
    }
    switch (frame.type) {
      case FrameType.DATA:
        if (fin) return { error: 'MalformedFrameError', data: Uint8Array.from(data), fin }
        data.push(...frame.payload)
        break
      case FrameType.ACK:
        // ACK beyond what was sent, or of a FIN never sent
        if (frame.received > sent || frame.fin) return { error: 'MalformedFrameError', data: Uint8Array.from(data), fin }
        break
      case FrameType.FIN:
        if (frame.total !== data.length) return { error: 'MalformedFrameError', data: Uint8Array.from(data), fin }
        fin = true
        break
      case FrameType.ABORT:
        return { error: 'AssociationResetError', data: Uint8Array.from(data), fin }
    }
  }
  return { error: end === 'AssociationClosedError' ? 'ResumeFailedError' : end, data: Uint8Array.from(data), fin }
}

describe('the data phase of a resumable association (properties)', () => {
  const responder = createDemux<string>({ openTimeout: 2_000, resumeTimeout: 20 })
  const serviceAid = responder.listen('echo')

  it('ends with exactly the typed error the reference receiver predicts, after delivering exactly the data before it', async () => {
    await fc.assert(fc.asyncProperty(fc.array(phasePiece, { maxLength: 10 }), fc.integer({ min: 0, max: 30 }), cutting, async (pieces, sent, cuts) => {
      const input = Uint8Array.from(pieces.flatMap(p => [...p]))
      const want = dataPhase(input, sent)
      const before = responder.associations
      const { association: b, out } = await openByHand(responder, serviceAid)
      try {
        if (sent > 0) b.send(new Uint8Array(sent).fill(7))
        const received: Uint8Array[] = []
        const reading = rejectionIfAny((async () => { for await (const chunk of b) received.push(chunk) })())
        await feed(out, input, cuts)
        const finished = await settles(rejectionIfAny(b.finished), HANG_MS, 'finished')
        const read = await settles(reading, HANG_MS, 'read')
        expect(finished?.name).toBe(want.error)
        expect(hex(Buffer.concat(received))).toBe(hex(want.data))
        // reads end cleanly after a FIN; otherwise they fail like the association
        if (want.fin) expect(read).toBeUndefined()
        else expect(read?.name).toBe(want.error)
      } finally {
        b.abort(new Error('test over'))
      }
      await tableReturnsTo(responder, before)
    }), { numRuns: runs(150) })
  }, budget(30_000))
})
