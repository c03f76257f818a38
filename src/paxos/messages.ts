// The messages replicas of one cell exchange. Plain objects; `codec.ts` turns them into
// deterministic bytes. Every handler tolerates loss, duplication, reordering and replays.
import type { Ballot, LogEntry, LogIndex } from './types.ts';

/** Phase 1a: "promise me `ballot`, and tell me what you accepted from `fromIndex` on". */
export interface PrepareMessage {
  readonly kind: 'prepare';
  readonly ballot: Ballot;
  /** The candidate's first unchosen index (its commit index + 1). */
  readonly fromIndex: LogIndex;
}

/**
 * Phase 1b. `entries` are the acceptor's accepted entries at indices above both its own
 * commit index and `fromIndex - 1` (at most `acceptWindowEntries` of them); entries at or
 * below `commitIndex` are chosen and the candidate learns them by catch-up.
 */
export interface PromiseMessage {
  readonly kind: 'promise';
  readonly ballot: Ballot;
  readonly commitIndex: LogIndex;
  readonly entries: readonly LogEntry[];
}

/** Refusal of a prepare or accept at `ballot`: the sender has promised `promisedBallot`. */
export interface NackMessage {
  readonly kind: 'nack';
  readonly ballot: Ballot;
  readonly promisedBallot: Ballot;
}

/** Phase 2a for one log entry; also carries the leader's commit index (learning). */
export interface AcceptMessage {
  readonly kind: 'accept';
  readonly entry: LogEntry;
  readonly commitIndex: LogIndex;
}

/** Phase 2b: the sender durably accepted `index` at `ballot`. */
export interface AcceptedMessage {
  readonly kind: 'accepted';
  readonly ballot: Ballot;
  readonly index: LogIndex;
}

/** The leader's commit index, sent when its pipeline drains (and on winning phase 1). */
export interface CommitMessage {
  readonly kind: 'commit';
  readonly ballot: Ballot;
  readonly commitIndex: LogIndex;
}

/** A lagging replica asks for chosen entries from `fromIndex` on. */
export interface CatchupRequestMessage {
  readonly kind: 'catchupRequest';
  readonly fromIndex: LogIndex;
}

/**
 * Chosen entries, contiguous from the requested index (at most `maxEntriesPerMessage`),
 * and the sender's commit index. A request below the sender's snapshot is not answered
 * with this: the sender's cell is asked to send a snapshot instead (`Ready.snapshotsToSend`).
 */
export interface CatchupReplyMessage {
  readonly kind: 'catchupReply';
  readonly commitIndex: LogIndex;
  readonly entries: readonly LogEntry[];
}

export type PaxosMessage =
  | PrepareMessage
  | PromiseMessage
  | NackMessage
  | AcceptMessage
  | AcceptedMessage
  | CommitMessage
  | CatchupRequestMessage
  | CatchupReplyMessage;

export type PaxosMessageKind = PaxosMessage['kind'];
