/**
 * Association ids and demultiplexing for Fara.
 *
 * An AId is 64 random bits from the CSPRNG, meaningful only at the two ends;
 * it is never derived from a service name. A service listens under a random
 * service AId (published only in its signed rendezvous record); each
 * association gets a fresh AId at each end. The Open frame carries the
 * service AId inside the encrypted stream and leaves with the first data, so
 * opening costs no round trip; a refusal arrives as a typed error on the
 * first read.
 *
 * Protocol ids, frame bounds and defaults: `@fara/demux/constants`.
 *
 * @example
 * ```ts
 * import { createDemux, randomAid, aidToHex } from '@fara/demux'
 *
 * const demux = createDemux<string>()
 * const serviceAid = demux.listen('echo')   // publish this in the rendezvous record
 * console.log(aidToHex(serviceAid), aidToHex(randomAid()))
 * // initiator: const association = demux.open(stream, serviceAid, remotePeer)
 * // responder: const { association, service } = await demux.accept(stream, remotePeer)
 * ```
 *
 * @packageDocumentation
 */
export { createDemux } from './demux.ts'
export type { Demux, DemuxInit, Accepted, AcceptOptions, OpenOptions, ResumeOptions } from './demux.ts'
export type { RecordLink, RecordsOf } from './internal/records.ts'
export type { RecordCipher } from './internal/record-cipher.ts'
export type { Reconnect } from './resumable.ts'
export type { Association } from './association.ts'
export { AssociationTable } from './table.ts'
export type { AssociationTableInit } from './table.ts'
export { randomAid, isAid, aidToHex, aidFromHex, csprng } from './aid.ts'
export type { RandomBytes } from './aid.ts'
export { encodeOpen, decodeOpen, encodeReply, decodeReply, encodeResume, decodeResume, encodeResumeReply, decodeResumeReply } from './framing.ts'
export type { OpenFrame, ReplyFrame, ResumeFrame, ResumeReplyFrame } from './framing.ts'
export { AssociationRejectedError, MalformedFrameError, FrameTooLargeError, AssociationClosedError, AssociationTableFullError, AssociationResetError, ResumeRefusedError, ResumeFailedError, RecordFailedError } from './errors.ts'
// the wire code an AssociationRejectedError carries; the other constants are in '@fara/demux/constants'
export { ReplyCode } from './constants.ts'
