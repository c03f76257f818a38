/*
 * cell.pml: the Physalia cell protocol (paper §2.2 and §2.4) as a Promela model,
 * checked with SPIN. It is the documentation of the protocol: Multi-Paxos with
 * pipelining (window ALPHA), membership kept in the log (a configuration chosen at log
 * index i governs index i + ALPHA onwards), deposed nodes, clients with stale
 * membership, and a node that leaves a cell and later comes back (the ABA case of §4.3).
 *
 * How to read it. The state below is every node's durable state plus the "bag" of
 * messages ever sent. The single process at the end is the protocol's next-state
 * relation: each branch of its loop is one atomic step of one node (receive a message
 * from the bag and react). Any branch may fire at any time, in any order, any number
 * of times, or never, so the network loses, delays, reorders and duplicates freely.
 * A step that is not enabled is a no-op (it leaves the state unchanged).
 *
 * Properties (checked with assert, in every reachable state, exhaustively):
 *   agreement        at most one value is chosen at any log index;
 *   oneJury          every node that proposes or decides at index s uses the same jury
 *                    (the "effective configuration" of s), and it is the jury the
 *                    chosen log determines;
 *   quorumOfJury     every quorum counted for index s (phase 1 promises, phase 2
 *                    acceptances) holds a majority of the real jury of s, so no set of
 *                    deposed nodes is ever a quorum for any new ballot;
 *   split brain from stale membership is the conjunction of the above in a model where
 *   any node, deposed or not, aware or not, may start a ballot at any time on whatever
 *   it knows, because a client with a stale discovery answer asked it to.
 *
 * Bug variants (each must produce a counterexample; see spec/README.md):
 *   -DBUG_NO_ALPHA      a configuration takes effect at the next index (i + 1) while the
 *                       pipeline still runs ALPHA deep;
 *   -DBUG_STALE_QUORUM  a proposer whose log is behind takes the jury from the client's
 *                       stale discovery answer and proposes beyond its window;
 *   -DBUG_ABA           no incarnation numbers: a node removed from the cell deletes its
 *                       replica and, when added back, answers under its old identity
 *                       with empty state.
 * Witnesses (each must be reachable, so the properties are not vacuous):
 *   -DWITNESS_WINDOW    both changes chosen within one alpha window, and a later index
 *                       decided under the final jury;
 *   -DWITNESS_STALE     a deposed node that does not know it is deposed drives a decision;
 *   -DWITNESS_ABA       node 2's second incarnation is in a deciding quorum after its
 *                       first incarnation accepted values and was deposed.
 */

/* ---------------------------------------------------------------- bounds ---- */

#define ACTORS 4     /* replicas: node identity plus incarnation (see "Actors") */
#ifndef L
#define L 4          /* log indexes 0 .. L-1 (3 or 4) */
#endif
#define ALPHA 2      /* pipeline window: a proposer works at most ALPHA indexes past
                        the prefix it knows is chosen; a change at i governs i + ALPHA */
#define MAXB 2       /* ballots started in one run, by any nodes (see REPORT) */
#ifndef MAXROUND
#define MAXROUND 2   /* ballot rounds 1 .. MAXROUND */
#endif

#ifdef BUG_NO_ALPHA
#define EFFECT 1     /* the bug: a change at i governs i + 1, pipeline still ALPHA */
#else
#define EFFECT ALPHA
#endif

/* ---------------------------------------------------------------- actors ---- */
/*
 * An actor is one replica of the cell: (node, incarnation). Actors 0, 1, 2 are the
 * initial jury. Actor 3 is node 2 again, incarnation 2: the cell moved off node 2 and
 * later back onto it, and the new replica is a new acceptor whose messages name
 * incarnation 2, so nothing it says is counted for incarnation 1. Under BUG_ABA there
 * is no incarnation number and node 2 comes back as actor 2 itself.
 *
 * Juries are bitmasks of actors. The control plane's script of changes is:
 *   JURY0 = {0,1,2}   initial
 *   JURY1 = {0,1}     change CFG1: remove node 2            (node 2 is deposed)
 *   JURY2 = {0,1,2'}  change CFG2: add node 2 back          (ABA on node 2)
 * Both changes may be chosen within one alpha window (indexes 0 and 1 with ALPHA = 2),
 * the sharpest case of §4.3. JURY0 and JURY2 have disjoint majorities ({1,2}, {0,2'}),
 * so any confusion between them can split the brain.
 */
#define BIT(a) (1 << (a))
#define JURY0 (BIT(0) | BIT(1) | BIT(2))
#define JURY1 (BIT(0) | BIT(1))
#ifdef BUG_ABA
#define JURY2 (BIT(0) | BIT(1) | BIT(2))
#else
#define JURY2 (BIT(0) | BIT(1) | BIT(3))
#endif

/* ---------------------------------------------------------------- values ---- */
/* A log entry: nothing, a no-op, a configuration change, or a client command. A client
 * command is named by the ballot that first proposed it, so two different commands at
 * one index are told apart (any re-proposal carries the original name). */
#define NONE 0
#define NOOP 1
#define CFG1 2
#define CFG2 3
#define CMD(k) (4 + (k))

typedef Slots { byte at[L] }

/* ------------------------------------------------------ acceptor state ---- */
/* Durable: persisted before any reply leaves the node (DESIGN.md "Cell protocol"). */
byte maxBal[ACTORS];      /* highest ballot promised or accepted; 0 = none.
                             Invariant: maxBal >= the ballot of every accepted entry */
Slots accepted[ACTORS];   /* per index: 1 + the ballot (index into the ballot table)
                             whose proposal this acceptor accepted there; 0 = none */

/* ------------------------------------------------------- learner state ---- */
Slots learned[ACTORS];    /* entries this node knows are chosen */
byte known[ACTORS];       /* indexes 0 .. known-1 are all learned (the chosen prefix) */
bit alive[ACTORS];        /* the actor hosts a replica of the cell now */
bit wiped;                /* BUG_ABA only: node 2 deleted its replica */

/* ------------------------------------------------------- ballot table ----- */
/* Ballot b is (round, node), compared as round * 8 + node: unique per node, totally
 * ordered. A node picks round = 1 + the highest round it has seen, so a node with a
 * stale view may start a ballot LOWER than one already in use. Ballots are numbered
 * 0 .. nballots-1 in the order they start; that number is only a table index. */
byte nballots;
byte ballotValue[MAXB];
byte owner[MAXB];
byte current[ACTORS];     /* 1 + the ballot this node is driving; 0 = none */
byte nextIndex[MAXB];     /* next log index this ballot's proposer will fill */

/* ------------------------------------------------------ the message bag ---- */
/* Phase 1a "prepare(b)" is implied by ballot b existing: any actor may receive it.
 * Phase 1b "promise(b)" from a carries a's accepted entries at the time it promised.
 * The model does not store that copy: the proposer of b reads a's entries below b at
 * the index it is filling (REPORT). With two ballots this is exact: after promising b,
 * a accepts nothing below b, and it can only have replaced an entry at that index by
 * one of b itself if b had already filled the index, so the entries below b that the
 * proposer reads are the ones the promise carried. (With three ballots it is not, so
 * MAXB is 2.) Keeping no copy removes a large, redundant part of the state. */
byte promised[MAXB];            /* bitmask: actors whose promise for b was sent */
#define REPORT(b, a, idx) \
  ((accepted[a].at[idx] != 0 && ballotValue[accepted[a].at[idx] - 1] < ballotValue[b]) -> \
   accepted[a].at[idx] : 0)
/* Phase 2a "accept(b, s, v)": at most one value per ballot and index. */
Slots proposal[MAXB];
Slots juryUsed[MAXB];           /* the jury the proposer computed for index s */
/* Phase 2b "accepted(b, s)" from a. */
Slots acks[MAXB];

/* ---------------------------------------------------------------- ghosts ---- */
/* Not part of the protocol: what an omniscient observer records, for the properties. */
byte chosen[L];           /* the value decided at each index (first decision) */
byte effectiveJury[L];    /* the jury the first user of index s used; 0 = unused */

/* Scratch for the steps below: `hidden` keeps them out of the state vector. Every
 * step assigns them before reading them. */
hidden byte i, s, v, n, q, bestBal, bestVal, jury, truth, tmp, cnt1, cnt2;
hidden byte ok, truthKnown, hole;
/* Named results, so a violation report says which property failed. */
hidden byte agreement, oneJury, quorumOfJury, witness;

/* ------------------------------------------------------------- helpers ---- */

/* A log to read: the chosen log (ghost) or the entries actor a has learned. */
#define CHOSEN_LOG 255
#define LOG_AT(which, j) ((which) == CHOSEN_LOG -> chosen[j] : learned[which].at[j])

/* The jury that log `which` determines for index `idx`: the newest configuration entry
 * at an index j with j + EFFECT <= idx, or JURY0. isKnown = 0 if one of those entries is
 * not in that log yet (then the jury cannot be computed from it). */
inline juryFrom(which, idx, result, isKnown) {
  result = JURY0;
  isKnown = 1;
  tmp = 0;
  do
  :: tmp + EFFECT <= idx ->
     if
     :: LOG_AT(which, tmp) == CFG1 -> result = JURY1
     :: LOG_AT(which, tmp) == CFG2 -> result = JURY2
     :: LOG_AT(which, tmp) == NONE -> isKnown = 0
     :: else -> skip
     fi;
     tmp++
  :: else -> break
  od
}

/* cnt = number of actors in mask m. */
inline popcount(m, cnt) {
  cnt = 0;
  tmp = 0;
  do
  :: tmp < ACTORS -> if :: (m & BIT(tmp)) -> cnt++ :: else -> skip fi; tmp++
  :: else -> break
  od
}

/* ok = the set `set` holds a majority of jury `j`. */
inline isMajority(set, j, result) {
  popcount(set & j, cnt1);
  popcount(j, cnt2);
  result = (2 * cnt1 > cnt2)
}

/* A quorum counted for index idx must hold a majority of the jury the chosen log
 * determines for idx (when the chosen log already determines it). A set of deposed
 * nodes holds no member of that jury, so it can never pass this check. */
inline checkQuorum(set, idx) {
  juryFrom(CHOSEN_LOG, idx, truth, truthKnown);
  if
  :: truthKnown -> isMajority(set, truth, quorumOfJury); assert(quorumOfJury)
  :: else -> skip
  fi
}

/* Every node acting at index idx uses one jury: the first one used, which is also the
 * one the chosen log determines. */
inline checkJury(j, idx) {
  if
  :: effectiveJury[idx] == 0 -> effectiveJury[idx] = j
  :: else -> oneJury = (effectiveJury[idx] == j); assert(oneJury)
  fi;
  juryFrom(CHOSEN_LOG, idx, truth, truthKnown);
  if
  :: truthKnown -> oneJury = (truth == j); assert(oneJury)
  :: else -> skip
  fi
}

/* Advance node a's chosen prefix over entries it has learned. */
inline advanceKnown(a) {
  do
  :: known[a] < L && learned[a].at[known[a]] != NONE -> known[a]++
  :: else -> break
  od
}

/* The control plane creates the replica of a node added by a chosen change; it
 * starts empty and is taught (§2.4): it learns chosen entries like anyone else. */
inline joinAdded(value) {
  if
#ifndef BUG_ABA
  :: value == CFG2 -> alive[3] = 1
#endif
  :: else -> skip
  fi
}

/* --------------------------------------------------------------- steps ---- */
/*
 * Each step is `d_step { ENABLED -> effect }`: the guard is a plain expression, so a
 * step that is not enabled is not a transition at all. Steps whose enabling needs a
 * computation (a majority count, the phase 2 value) compute it inside and do nothing
 * when it fails.
 */

/* The round of the highest ballot node a has seen. A node promises its own ballot when
 * it starts it, so maxBal covers its own ballots too. */
#define ROUND_SEEN(a) (maxBal[a] >> 3)

/* StartBallot(a): a client asks node a to run the cell (for example because its
 * discovery answer, possibly stale, names a). Node a starts phase 1 with a ballot above
 * every ballot it has seen, and promises it itself. Deposed nodes may do this too:
 * nothing stops a node that does not know it was removed, and its chosen prefix,
 * known[a], may be far behind. */
#define CAN_START(a) \
  (alive[a] && nballots < MAXB && ROUND_SEEN(a) < MAXROUND && SYMMETRY_ALLOWS(a))
/* Nodes 0 and 1 are interchangeable (both in every jury, both there from the start),
 * so runs where node 1 drives a ballot and node 0 does not are mirror images of runs
 * where node 0 does. Checking only the latter halves that part of the state space. */
#define SYMMETRY_ALLOWS(a) ((a) != 1 || current[0] != 0)
inline startBallot(a) {
  ballotValue[nballots] = (ROUND_SEEN(a) + 1) * 8 + a;
  owner[nballots] = a;
  nextIndex[nballots] = known[a];
  current[a] = nballots + 1;
  nballots++;
  promise(a, nballots - 1)
}

/* Promise(a, b): acceptor a receives prepare(b). If b is above every ballot it has
 * promised, it promises (phase 1 covers ALL indexes: one promise per ballot) and
 * reports everything it has accepted. */
#define CAN_PROMISE(a, b) (alive[a] && (b) < nballots && ballotValue[b] > maxBal[a])

inline promise(a, b) {
  maxBal[a] = ballotValue[b];
  promised[b] = promised[b] | BIT(a)
}

/* The jury a proposer uses for index idx: computed from its own chosen log, which
 * determines it exactly because idx < known + ALPHA means every index j <= idx - ALPHA
 * is in the prefix it knows. Under BUG_STALE_QUORUM, a proposer whose log does not
 * determine the jury takes the client's discovery answer instead: JURY0, the jury of
 * a client that looked before every change. */
inline proposerJury(a, idx, result, isKnown) {
  juryFrom(a, idx, result, isKnown);
#ifdef BUG_NO_ALPHA
  /* the buggy proposer uses the changes it knows of and ignores the ones in flight */
  isKnown = 1;
#endif
#ifdef BUG_STALE_QUORUM
  if
  :: !isKnown -> result = JURY0; isKnown = 1
  :: else -> skip
  fi
#endif
}

/* The index ballot b's proposer fills next: its next index, skipping what it knows is
 * already chosen. The pipeline bound: it fills index s only if s < known + ALPHA (it
 * never runs more than ALPHA indexes ahead of the chosen prefix it knows). */
#define PROPOSER(b) owner[b]
#define NEXT_INDEX(b) (nextIndex[b] < known[PROPOSER(b)] -> known[PROPOSER(b)] : nextIndex[b])
#ifdef BUG_STALE_QUORUM
#define IN_WINDOW(b) (NEXT_INDEX(b) < L)
#else
#define IN_WINDOW(b) (NEXT_INDEX(b) < L && NEXT_INDEX(b) < known[PROPOSER(b)] + ALPHA)
#endif
#define CAN_PROPOSE(b) \
  ((b) < nballots && alive[PROPOSER(b)] && current[PROPOSER(b)] == (b) + 1 && IN_WINDOW(b))

/* A proposer sends prepare(b) to the jury of every index in its window, as far as
 * its log tells (a new jury inside the window gets prepare(b) too). Sets ok. */
inline isPrepared(a, b) {
  n = PROPOSER(b);
  s = NEXT_INDEX(b);
  jury = 0;
  do
  :: s < L && s < known[n] + ALPHA ->
     proposerJury(n, s, q, ok);
     if :: ok -> jury = jury | q :: else -> skip fi;
     s++
  :: else -> break
  od;
#ifdef BUG_STALE_QUORUM
  jury = jury | JURY0;
#endif
  ok = ((jury & BIT(a)) != 0)
}

/* Promise(a, b) runs only if isPrepared(a, b). */
inline maybePromise(a, b) {
  isPrepared(a, b);
  if
  :: ok -> promise(a, b)
  :: else -> skip
  fi
}

/* Phase 2a value for index s, from the promises of quorum q (phase 1 covers it):
 *  - a value node a learned as chosen: propose it again;
 *  - else the value accepted in the highest ballot among q's reports;
 *  - else, if a member of q accepted something at a later index, s is a hole: NOOP;
 *  - else s is free: the client's command, or (wantChange) the next configuration
 *    change of the script, if no change is in flight: every earlier index is known
 *    chosen, so the previous change is decided. Several changes may still land within
 *    one alpha window: a change at s and the next at s + 1.
 * v = NONE when wantChange does not apply (the step then does nothing). */
inline phase2Value(b, a, wantChange) {
  bestBal = 0;
  bestVal = NONE;
  hole = 0;
  i = 0;
  do
  :: i < ACTORS ->
     if
     :: (q & BIT(i)) ->
        tmp = REPORT(b, i, s);
        if
        :: tmp != 0 && ballotValue[tmp - 1] > bestBal ->
           bestBal = ballotValue[tmp - 1];
           bestVal = proposal[tmp - 1].at[s]
        :: else -> skip
        fi;
        tmp = s + 1;
        do
        :: tmp < L ->
           if :: REPORT(b, i, tmp) != 0 -> hole = 1 :: else -> skip fi;
           tmp++
        :: else -> break
        od
     :: else -> skip
     fi;
     i++
  :: else -> break
  od;
  v = NONE;
  if
  :: wantChange && learned[a].at[s] == NONE && bestVal == NONE && !hole && known[a] == s ->
     /* the newest change in the known prefix says which change is next */
     tmp = NONE;
     i = 0;
     do
     :: i < s ->
        if :: learned[a].at[i] == CFG1 || learned[a].at[i] == CFG2 -> tmp = learned[a].at[i] :: else -> skip fi;
        i++
     :: else -> break
     od;
     if
     :: tmp == NONE -> v = CFG1
     :: tmp == CFG1 -> v = CFG2
     :: else -> skip
     fi
  :: wantChange -> skip
  :: else ->
     if
     :: learned[a].at[s] != NONE -> v = learned[a].at[s]
     :: learned[a].at[s] == NONE && bestVal != NONE -> v = bestVal
     :: learned[a].at[s] == NONE && bestVal == NONE && hole -> v = NOOP
     :: else -> v = CMD(b)
     fi
  fi
}

/* Propose(b, wantChange): the proposer of ballot b fills its next index s, pipelined:
 * it does not wait for s - 1 to be chosen, only for s to be inside the window. It
 * needs promises from a majority of the jury of s: phase 1 is per ballot, but a new
 * jury's majority must have promised before b proposes under it. */
inline propose(b, wantChange) {
  n = PROPOSER(b);
  s = NEXT_INDEX(b);
  proposerJury(n, s, jury, ok);
  if
  :: ok -> q = promised[b] & jury; isMajority(q, jury, ok)
  :: else -> skip
  fi;
  if
  :: ok -> phase2Value(b, n, wantChange); ok = (v != NONE)
  :: else -> skip
  fi;
  if
  :: ok ->
     checkQuorum(q, s);
     checkJury(jury, s);
     proposal[b].at[s] = v;
     juryUsed[b].at[s] = jury;
     nextIndex[b] = s + 1
  :: else -> skip
  fi
}

/* Accept(a, b, idx): acceptor a receives accept(b, idx, v). It accepts unless it has
 * promised a higher ballot. Acceptors do not check membership: counting only jury
 * members is the proposer's job, so the model lets non-members accept too.
 * When the acceptances of b at idx reach a majority of the jury b used there, the
 * value is chosen: the proposer (or anyone counting the 2b messages) learns it and
 * announces it; the announcement is the ghost `chosen`, which any node may learn. */
#define CAN_ACCEPT(a, b, idx) \
  (alive[a] && (b) < nballots && (juryUsed[b].at[idx] & BIT(a)) && \
   ballotValue[b] >= maxBal[a] && accepted[a].at[idx] != (b) + 1)
inline accept(a, b, idx) {
  maxBal[a] = ballotValue[b];
  accepted[a].at[idx] = (b) + 1;
  acks[b].at[idx] = acks[b].at[idx] | BIT(a);
  q = acks[b].at[idx] & juryUsed[b].at[idx];
  isMajority(q, juryUsed[b].at[idx], ok);
  if
  :: ok -> decided(b, idx)
  :: else -> skip
  fi
}

/* Ballot b's value at idx has just been accepted by quorum q. */
inline decided(b, idx) {
  v = proposal[b].at[idx];
  checkQuorum(q, idx);
  checkJury(juryUsed[b].at[idx], idx);
  agreement = (chosen[idx] == NONE || chosen[idx] == v);
  assert(agreement);
  chosen[idx] = v;
  joinAdded(v);
#ifdef WITNESS_STALE
  /* b's proposer is node 2, the change removing it is chosen at an index j below idx,
   * and node 2 has not learned index j: deposed, unaware, and still driving decisions */
  n = PROPOSER(b);
  witness = !(n == 2 &&
              ((chosen[0] == CFG1 && 0 < idx && known[2] <= 0) ||
               (chosen[1] == CFG1 && 1 < idx && known[2] <= 1)));
  assert(witness);
#endif
#ifdef WITNESS_ABA
  /* node 2's new incarnation helps decide, after the old one accepted values */
  witness = !((q & BIT(3)) != 0 && (accepted[2].at[0] != 0 || accepted[2].at[1] != 0));
  assert(witness);
#endif
#ifdef WITNESS_WINDOW
  /* both changes chosen less than ALPHA apart, and an index of the final jury decided */
  witness = !(chosen[0] == CFG1 && chosen[1] == CFG2 && chosen[L - 1] != NONE);
  assert(witness);
#endif
  skip
}

/* Learn(a): node a learns the next chosen entry of its log from a decision
 * announcement or from a teacher (§2.4: log or bulk teaching). In order, which is
 * enough: a proposer only uses the prefix it knows. */
#ifdef BUG_ABA
#define LEARNS(a) (current[a] != 0 || (a) == 2)
#else
#define LEARNS(a) (current[a] != 0)
#endif
/* Only what a proposer knows (and, under BUG_ABA, what node 2 knows, since it leaves
 * when it learns it was removed) changes any later step, so only they learn. */
#define CAN_LEARN(a) (alive[a] && LEARNS(a) && known[a] < L && chosen[known[a]] != NONE)
inline learn(a) {
  learned[a].at[known[a]] = chosen[known[a]];
  advanceKnown(a)
}

/* Leave(): node 2 has learned it was removed and the cell moves off it: the replica
 * is deleted. With incarnations, replica (2, 1) is simply gone for good (like a node
 * that failed forever, which Paxos tolerates). Under BUG_ABA its state is erased and
 * the same identity may come back. */
#define KNOWS_REMOVED_2 (learned[2].at[0] == CFG1 || learned[2].at[1] == CFG1)
#define CAN_LEAVE (alive[2] && KNOWS_REMOVED_2)
inline leave() {
  alive[2] = 0;
  current[2] = 0;
#ifdef BUG_ABA
  wiped = 1;
  maxBal[2] = 0;
  tmp = 0;
  do
  :: tmp < L -> accepted[2].at[tmp] = 0; learned[2].at[tmp] = 0; tmp++
  :: else -> break
  od;
  known[2] = 0
#endif
}

/* Rejoin() (BUG_ABA only): the change adding node 2 back is chosen; the control plane
 * recreates the replica under the old identity. */
#define CAN_REJOIN \
  (wiped && (chosen[0] == CFG2 || chosen[1] == CFG2 || chosen[2] == CFG2))
inline rejoin() {
  wiped = 0;
  alive[2] = 1
}

/* ---------------------------------------------------- next-state relation -- */
/* The enumerations below spell out MAXB = 3 ballots and L = 4 indexes. */

#if L >= 4
#define ACCEPT_FOURTH(a, b) :: d_step { CAN_ACCEPT(a, b, 3) -> accept(a, b, 3); skip }
#else
#define ACCEPT_FOURTH(a, b)
#endif
#if MAXB >= 3
#define PROMISE_THIRD(a) :: d_step { CAN_PROMISE(a, 2) -> maybePromise(a, 2); skip }
#define ACCEPT_THIRD(a) ACCEPT_BALLOT(a, 2)
#define PROPOSER_THIRD PROPOSER_STEPS(2)
#else
#define PROMISE_THIRD(a)
#define ACCEPT_THIRD(a)
#define PROPOSER_THIRD
#endif
#if MAXB >= 2
#define PROMISE_SECOND(a) :: d_step { CAN_PROMISE(a, 1) -> maybePromise(a, 1); skip }
#define ACCEPT_SECOND(a) ACCEPT_BALLOT(a, 1)
#define PROPOSER_SECOND PROPOSER_STEPS(1)
#else
#define PROMISE_SECOND(a)
#define ACCEPT_SECOND(a)
#define PROPOSER_SECOND
#endif
#define PROMISE_ALL(a) \
  :: d_step { CAN_PROMISE(a, 0) -> maybePromise(a, 0); skip } \
  PROMISE_SECOND(a) \
  PROMISE_THIRD(a)
#define ACCEPT_BALLOT(a, b) \
  :: d_step { CAN_ACCEPT(a, b, 0) -> accept(a, b, 0); skip } \
  :: d_step { CAN_ACCEPT(a, b, 1) -> accept(a, b, 1); skip } \
  :: d_step { CAN_ACCEPT(a, b, 2) -> accept(a, b, 2); skip } \
  ACCEPT_FOURTH(a, b)
#define ACTOR(a) \
  :: d_step { CAN_START(a) -> startBallot(a); skip } \
  :: d_step { CAN_LEARN(a) -> learn(a); skip } \
  PROMISE_ALL(a) \
  ACCEPT_BALLOT(a, 0) \
  ACCEPT_SECOND(a) \
  ACCEPT_THIRD(a)
#define PROPOSER_STEPS(b) \
  :: d_step { CAN_PROPOSE(b) -> propose(b, 0); skip } \
  :: d_step { CAN_PROPOSE(b) -> propose(b, 1); skip }

active proctype Cell() {
  d_step {
    alive[0] = 1; alive[1] = 1; alive[2] = 1;
#ifdef STEADY
    /* Steady state: node 1 is the distinguished proposer of ballot (1, node 1), and
     * the whole initial jury has promised it with nothing accepted yet. */
    ballotValue[0] = 1 * 8 + 1; owner[0] = 1; current[1] = 1; nballots = 1;
    maxBal[0] = ballotValue[0]; maxBal[1] = ballotValue[0]; maxBal[2] = ballotValue[0];
    promised[0] = JURY0
#endif
  };
end:
  do
  ACTOR(0)
  ACTOR(1)
  ACTOR(2)
  ACTOR(3)
  PROPOSER_STEPS(0)
  PROPOSER_SECOND
  PROPOSER_THIRD
#ifdef BUG_ABA
  /* Without BUG_ABA, leaving is the same as actor 2 never acting again, which every
   * run already includes, so the step is only needed for the bug. */
  :: d_step { CAN_LEAVE -> leave(); skip }
  :: d_step { CAN_REJOIN -> rejoin(); skip }
#endif
  od
}
