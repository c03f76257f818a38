/*
 * cell.pml: the Physalia cell protocol (paper §2.2 and §2.4) as a Promela model,
 * checked with SPIN. It is the documentation of the protocol: Multi-Paxos with
 * pipelining (window ALPHA), membership kept in the log (a configuration chosen at log
 * index i governs index i + ALPHA onwards), deposed nodes, clients with stale
 * membership, and a node that leaves a cell and later comes back (the ABA case of §4.3).
 * src/paxos/ is the implementation; each step below names the code it models, and
 * spec/README.md lists where the model is looser than the code.
 *
 * How to read it. The state below is every acceptor's durable state plus the "bag" of
 * messages ever sent. The single process at the end is the protocol's next-state
 * relation: each branch of its loop is one atomic step of one node (receive a message
 * from the bag and react). Any branch may fire at any time, in any order, any number
 * of times, or never, so the network loses, delays, reorders and duplicates freely.
 *
 * The state holds only what the protocol's future depends on, so that the search can
 * be exhaustive at useful bounds. Four choices keep it small, each argued where made:
 *   - a message in the bag is one bit ("a promised b", "a accepted b at s"), and the
 *     report a promise carries is recovered exactly from those bits (phase2Value);
 *   - ballots are kept sorted by value, so the order in which they started is not state;
 *   - what a node has learned is not state: a proposer acts on some prefix of the chosen
 *     log, any prefix, each time it acts (Propose), which covers every stale proposer;
 *   - fields that can no longer matter are reset (retire).
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
 * With -DAGREEMENT_ONLY only `agreement` is asserted: it shows whether a bug below
 * really splits the brain, rather than only breaking an intermediate property.
 *
 * Bug variants (each must produce a counterexample; see spec/README.md):
 *   -DBUG_NO_ALPHA      a configuration takes effect at the next index (i + 1) while the
 *                       pipeline still runs ALPHA deep;
 *   -DBUG_STALE_QUORUM  a proposer whose log is behind takes the jury from the client's
 *                       stale discovery answer and proposes beyond its window;
 *   -DBUG_ABA           no incarnation numbers: node 2's second replica answers under
 *                       the name of its first, so their votes are confused.
 * Witnesses (each must be reachable, so the properties are not vacuous):
 *   -DWITNESS_WINDOW    both changes chosen within one alpha window, and (L >= 4) a later
 *                       index decided under the final jury;
 *   -DWITNESS_STALE     node 2, removed by another node's ballot and unaware of it, has a
 *                       proposal of its own chosen after the removal;
 *   -DWITNESS_ABA       node 2's second incarnation is in a deciding quorum after its
 *                       first incarnation accepted values;
 *   -DWITNESS_RECOVERY  a command first proposed under one ballot is chosen under another
 *                       (phase 1 found it and the new ballot carried it on);
 *   -DWITNESS_DUEL      two ballots of the same round (tie broken by node id) both hold a
 *                       majority of promises: an election with contention.
 * Options: -DANY_PROPOSER lets a proposer propose at indexes whose jury it is not in
 * (src/paxos never does); -DNO_RETIRE turns the reset of dead fields off.
 */

/* ---------------------------------------------------------------- bounds ---- */

#ifndef L
#define L 4          /* log indexes 0 .. L-1 (3 to 5) */
#endif
#define ALPHA 2      /* pipeline window: a proposer works at most ALPHA indexes past
                        the prefix it knows is chosen; a change at i governs i + ALPHA */
#ifndef MAXB
#define MAXB 2       /* ballots started in one run, by any nodes (1 to 3) */
#endif
#ifndef MAXROUND
#define MAXROUND 2   /* ballot rounds 1 .. MAXROUND (1 to 3) */
#endif

#ifdef BUG_NO_ALPHA
#define EFFECT 1     /* the bug: a change at i governs i + 1, pipeline still ALPHA */
#else
#define EFFECT ALPHA
#endif

/* ---------------------------------------------------------------- actors ---- */
/*
 * An actor is one replica of the cell: (node, incarnation). Actors 0, 1, 2 are the
 * initial jury. Actor 3 is node 2 again, incarnation 2 (member id "n2#2", see
 * src/cell/reconfig.ts): the cell moved off node 2 and later back onto it, and the new
 * replica is a new acceptor with empty state. The control plane creates it once the
 * change adding it is chosen (ALIVE).
 *
 * The control plane's script of changes (configurations 0, 1, 2):
 *   JURY0 = {0,1,2}   initial
 *   JURY1 = {0,1}     change CFG1: remove node 2            (node 2 is deposed)
 *   JURY2 = {0,1,2'}  change CFG2: add node 2 back          (ABA on node 2)
 * Both changes may be chosen within one alpha window (indexes 0 and 1 with ALPHA = 2),
 * the sharpest case of §4.3. JURY0 and JURY2 have disjoint majorities ({1,2}, {0,2'}),
 * so any confusion between them can split the brain.
 *
 * Juries are bitmasks of actors. A proposer addresses and counts votes by member id.
 * With incarnations every actor has its own id; under BUG_ABA actor 3 answers as "n2"
 * (ID_OF_3), so either replica of node 2 receives node 2's messages and votes as it.
 */
#define ACTORS 4
#define BIT(a) (1 << (a))
#define JURY0 (BIT(0) | BIT(1) | BIT(2))
#define JURY1 (BIT(0) | BIT(1))
#define JURY2 (BIT(0) | BIT(1) | BIT(3))
#define JURY(config) ((config) == 0 -> JURY0 : ((config) == 1 -> JURY1 : JURY2))
#ifdef BUG_ABA
#define ID_OF_3 2
#else
#define ID_OF_3 3
#endif
/* The member ids of a set of actors, and the actors that answer to a set of ids. */
#define IDS(set) (((set) & 7) | (((set) & 8) -> BIT(ID_OF_3) : 0))
#define ANSWERING(ids) (((ids) & 7) | (((ids) & BIT(ID_OF_3)) -> 8 : 0))
/* The actors an accept or prepare addressed to jury j reaches. */
#define REACHED(j) ANSWERING(IDS(j))
#define POPCOUNT(m) (((m) & 1) + (((m) >> 1) & 1) + (((m) >> 2) & 1) + (((m) >> 3) & 1))
/* The actors in `set` hold a majority of jury j, counted by member id (as a proposer
 * counts: src/paxos/membership.ts hasQuorum). */
#define MAJORITY(set, j) (2 * POPCOUNT(IDS(set) & IDS(j)) > POPCOUNT(IDS(j)))
/* The actors in `set` hold a majority of jury j's actors (as an omniscient observer
 * counts; the same as MAJORITY unless ids are confused). */
#define TRUE_MAJORITY(set, j) (2 * POPCOUNT((set) & (j)) > POPCOUNT(j))

/* ---------------------------------------------------------------- values ---- */
/* A log entry: nothing, a no-op, a configuration change, or a client command. A client
 * command is named by the ballot that first proposed it (CMD(ballot)), so two different
 * commands at one index are told apart; any re-proposal carries the original name. */
#define NONE 0
#define NOOP 1
#define CFG1 2
#define CFG2 3
#define CMD(ballot) (4 + (ballot))

typedef Slots { byte at[L] }

/* ------------------------------------------------------- ballot table ----- */
/* A ballot is (round, node), written round * 4 + actor: unique per node and totally
 * ordered, ties in round broken by node id (src/paxos/types.ts compareBallots). A
 * node picks a round above every round it has seen, so a node with a stale view may
 * start a ballot LOWER than one already in use.
 *
 * The started ballots sit in slots 0 .. nballots-1 SORTED BY VALUE, so two runs that
 * start the same ballots in another order reach the same state (startBallot inserts a
 * new ballot in its place). Everything "per ballot" below is per slot. */
#define ROUND(ballot) ((ballot) >> 2)
#define OWNER(b) (bal[b] & 3)
byte nballots;
byte bal[MAXB];

/* ------------------------------------------------------ acceptor state ---- */
/* maxBal[a]: the highest ballot actor a promised or accepted; 0 = none. Its durable
 * promise (src/paxos: `promised`, persisted before any reply). */
byte maxBal[ACTORS];

/* ------------------------------------------------------ the message bag ---- */
/* Phase 1a "prepare(b)" is implied by ballot b existing: any acceptor may receive it.
 * (src/paxos sends it to the jury of each index in the proposer's window; a promise
 * from anyone else is never counted, so letting everyone promise only adds runs.)
 * Phase 1b "promise(b)" from actor a: bit a of promised[b]. */
byte promised[MAXB];
/* Phase 2a "accept(b, s, v)": at most one value per ballot and index; NONE = not sent. */
Slots proposal[MAXB];
/* Phase 2b "accepted(b, s)" from actor a: bit a of acks[b].at[s].
 *
 * These bits are also the acceptors' accepted entries: actor a holds at index s the value
 * of the highest slot whose acks at s have bit a (an acceptor only accepts ballots at
 * or above its promise, so what it holds at one index only goes up).
 *
 * A promise(b) from a carries a's accepted entries (ballot and value) as they were
 * when it promised. That report is the highest ballot BELOW b that a ever accepted at
 * s, and the bits give it exactly: after promising b, a accepts nothing below b, so
 * every ballot below b that a ever accepted at s, it accepted before the promise, and
 * the highest of them is what it held at s when it promised. */
Slots acks[MAXB];

/* The jury (configuration number) ballot b's proposer used at index s. In the correct
 * protocol it always equals the effective configuration of s (oneJury asserts it), so
 * only the variants where it can differ store it. */
#if defined(BUG_NO_ALPHA) || defined(BUG_STALE_QUORUM)
#define STORES_JURY_USED
Slots juryUsed[MAXB];
#define JURY_USED(b, idx) juryUsed[b].at[idx]
#else
#define JURY_USED(b, idx) (effective[idx] - 1)
#endif

/* ---------------------------------------------------------- caches ---------- */
/* Functions of the state above, kept so that step guards are plain expressions. Each
 * is determined by the rest, so they add no states, only bytes to the state vector. */
byte nextIndex[MAXB];     /* 1 + the highest index ballot b proposed at; 0 = none */
byte prefix;              /* indexes 0 .. prefix-1 are all chosen */
bit added;                /* CFG2 is chosen, so actor 3 (n2#2) exists */
#define ALIVE(a) ((a) != 3 || added)
/* Ballot b's proposer still leads with it: it has promised nothing higher. (A src/paxos
 * leader or candidate whose promise rises above its ballot steps down: yieldTo.) */
#define LEADS(b) (maxBal[OWNER(b)] == bal[b])

/* ---------------------------------------------------------------- ghosts ---- */
/* Not part of the protocol: what an omniscient observer records, for the properties. */
byte chosen[L];           /* the value decided at each index (first decision) */
byte effective[L];        /* 1 + the configuration the first user of s used; 0 = unused */
#ifdef WITNESS_STALE
byte staleBallot, staleIndex;   /* a proposal by node 2 made unaware of its removal */
#endif

/* Scratch for the steps below: `hidden` keeps them out of the state vector. Every
 * step assigns them before reading them. (Names must not clash with pan's C code.) */
hidden byte slot, entry, later, value, target, quorum, position, newBallot, hole;
hidden byte truth, truthKnown, config, canGo;
/* Named results, so a violation report says which property failed. */
hidden byte agreement, oneJury, quorumOfJury, witness;

/* ------------------------------------------------------------- helpers ---- */

/* The configuration that the first k entries of the chosen log determine for index
 * idx: the newest change at an index j with j + EFFECT <= idx, or 0 (membersAt in
 * src/paxos/membership.ts). isKnown = 0 if one of those j is not among the first k
 * entries or is not chosen yet. */
inline configFrom(k, idx, result, isKnown) {
  result = 0;
  isKnown = 1;
  entry = 0;
  do
  :: entry + EFFECT <= idx ->
     if
     :: entry >= k || chosen[entry] == NONE -> isKnown = 0
     :: chosen[entry] == CFG1 -> result = 1
     :: chosen[entry] == CFG2 -> result = 2
     :: else -> skip
     fi;
     entry++
  :: else -> break
  od
}

/* quorumOfJury: a quorum counted for index idx (actors `set`) holds a majority of the
 * real jury of idx, when the chosen log already determines it. A set of deposed nodes
 * holds no member of that jury, so it can never pass this check. */
inline checkQuorum(set, idx) {
#ifndef AGREEMENT_ONLY
  configFrom(L, idx, truth, truthKnown);
  if
  :: truthKnown -> quorumOfJury = TRUE_MAJORITY(set, JURY(truth)); assert(quorumOfJury)
  :: else -> skip
  fi
#else
  skip
#endif
}

/* oneJury: every node acting at index idx uses one configuration: the first one used,
 * which is also the one the chosen log determines. Records the first one (effective). */
inline checkJury(used, idx) {
  if
  :: effective[idx] == 0 -> effective[idx] = used + 1
  :: else ->
#ifndef AGREEMENT_ONLY
     oneJury = (effective[idx] == used + 1); assert(oneJury)
#else
     skip
#endif
  fi;
#ifndef AGREEMENT_ONLY
  configFrom(L, idx, truth, truthKnown);
  if
  :: truthKnown -> oneJury = (truth == used); assert(oneJury)
  :: else -> skip
  fi
#endif
}

/* ------------------------------------------------------------- witnesses -- */
/* A witness "fails" an assertion in a state that shows its scenario happened. */

#ifdef WITNESS_STALE
/* Node 2 proposes at s while acting on a prefix k that ends before an index j < s at
 * which another node's ballot has already had CFG1 (node 2's removal) accepted by a
 * majority: the change is chosen and node 2 does not know it. */
inline noteStaleProposal(b, k) {
  entry = 0;
  do
  :: OWNER(b) == 2 && entry < target ->
     slot = 0;
     do
     :: slot < nballots ->
        if
        :: k <= entry && OWNER(slot) != 2 && proposal[slot].at[entry] == CFG1 &&
           TRUE_MAJORITY(acks[slot].at[entry], JURY0) ->
           staleBallot = bal[b]; staleIndex = target + 1
        :: else -> skip
        fi;
        slot++
     :: else -> break
     od;
     entry++
  :: else -> break
  od
}
#endif

inline witnesses(b, idx) {
#ifdef WITNESS_STALE
  witness = !(bal[b] == staleBallot && idx + 1 == staleIndex);
  assert(witness);
#endif
#ifdef WITNESS_ABA
  /* node 2's new incarnation helps decide, after the old one accepted at index 0 or 1 */
  later = 0;
  slot = 0;
  do
  :: slot < nballots -> later = later | acks[slot].at[0] | acks[slot].at[1]; slot++
  :: else -> break
  od;
  witness = !((quorum & BIT(3)) && (later & BIT(2)));
  assert(witness);
#endif
#ifdef WITNESS_WINDOW
  /* both changes chosen less than ALPHA apart, and an index of the final jury decided */
#if L >= 4
  witness = !(chosen[0] == CFG1 && chosen[1] == CFG2 && chosen[3] != NONE);
#else
  witness = !(chosen[0] == CFG1 && chosen[1] == CFG2);
#endif
  assert(witness);
#endif
#ifdef WITNESS_RECOVERY
  /* a command first proposed under another ballot is chosen under b */
  witness = !(value >= CMD(0) && value != CMD(bal[b]));
  assert(witness);
#endif
  skip
}

#ifdef WITNESS_DUEL
/* two ballots of one round, both with promises from a majority of JURY0 */
#define DUEL (nballots >= 2 && ROUND(bal[0]) == ROUND(bal[1]) && \
              TRUE_MAJORITY(promised[0], JURY0) && TRUE_MAJORITY(promised[1], JURY0))
#endif

/* --------------------------------------------------------------- steps ---- */
/*
 * Each step is `d_step { ENABLED -> effect }`: the guard is a plain expression, so a
 * step that is not enabled is not a transition at all. A step whose enabling needs a
 * computation (a majority under a computed jury, the phase 2 value) computes it inside
 * and leaves the state unchanged when it fails.
 */

/* retire(a): a ballot whose proposer a has promised a higher one never proposes again
 * (LEADS is false for good: promises only rise), so its promises and next index can no
 * longer matter. They are reset, and a promise sent to it later is not recorded
 * (promise): states that differ only in those dead fields become one state. */
inline retire(a) {
#ifndef NO_RETIRE
  slot = 0;
  do
  :: slot < nballots && bal[slot] < maxBal[a] ->
     if
     :: OWNER(slot) == (a) -> promised[slot] = 0; nextIndex[slot] = 0
     :: else -> skip
     fi;
     slot++
  :: else -> break
  od
#else
  skip
#endif
}

/* StartBallot(a, r): a client asks node a to run the cell (for example because its
 * discovery answer, possibly stale, names a). Node a starts phase 1 with ballot (r, a),
 * r above every round it has seen: above the round of its own promise, at most one
 * above the highest round in use. It promises the ballot itself (src/paxos:
 * startCampaign). Deposed nodes may do this too: nothing stops a node that does not
 * know it was removed. A node drives only its newest ballot (LEADS). */
#define TOP_ROUND (nballots == 0 -> 0 : ROUND(bal[nballots - 1]))
#define CAN_START(a, r) \
  (ALIVE(a) && nballots < MAXB && (r) > ROUND(maxBal[a]) && (r) <= TOP_ROUND + 1)
inline startBallot(a, r) {
  newBallot = (r) * 4 + (a);
  position = nballots;
  do
  :: position > 0 && bal[position - 1] > newBallot -> moveSlotUp(position - 1); position--
  :: else -> break
  od;
  bal[position] = newBallot;
  promised[position] = BIT(a);
  nextIndex[position] = 0;
  entry = 0;
  do
  :: entry < L ->
     proposal[position].at[entry] = NONE;
     acks[position].at[entry] = 0;
#ifdef STORES_JURY_USED
     juryUsed[position].at[entry] = 0;
#endif
     entry++
  :: else -> break
  od;
  nballots++;
  maxBal[a] = newBallot;
  retire(a)
}

/* Slot `from` moves up one place to make room for a lower ballot. */
inline moveSlotUp(from) {
  bal[from + 1] = bal[from];
  promised[from + 1] = promised[from];
  nextIndex[from + 1] = nextIndex[from];
  entry = 0;
  do
  :: entry < L ->
     proposal[from + 1].at[entry] = proposal[from].at[entry];
     acks[from + 1].at[entry] = acks[from].at[entry];
#ifdef STORES_JURY_USED
     juryUsed[from + 1].at[entry] = juryUsed[from].at[entry];
#endif
     entry++
  :: else -> break
  od
}

/* Promise(a, b): acceptor a receives prepare(b). If b is above every ballot it has
 * promised or accepted, it promises, durably (phase 1 covers ALL indexes: one promise
 * per ballot), and its promise reports everything it has accepted (src/paxos:
 * onPrepare). */
#define CAN_PROMISE(a, b) ((b) < nballots && ALIVE(a) && bal[b] > maxBal[a])
inline promise(a, b) {
#ifndef NO_RETIRE
  if
  :: LEADS(b) -> promised[b] = promised[b] | BIT(a)
  :: else -> skip   /* b's proposer moved on: nobody will ever count this (retire) */
  fi;
#else
  promised[b] = promised[b] | BIT(a);
#endif
  maxBal[a] = bal[b];
  retire(a)
}

/* Propose(b, k, wantChange, unheard): the proposer of ballot b, knowing the first k
 * entries of the chosen log and holding every promise sent for b except those of the
 * actors in `unheard`, fills its next index s with a phase 2a message (src/paxos:
 * fillPipeline, proposeNext).
 *
 * What it knows. A node learns chosen entries in log order (from the leader's commit
 * index or by teaching, §2.4), so it knows some prefix of the chosen log. Knowledge
 * only restricts a proposer: its window (below), and, in the correct protocol, nothing
 * else, because the jury of every index inside the window is fixed by entries inside
 * the prefix it knows. So instead of storing each node's prefix, every Propose step
 * takes any k up to the whole chosen prefix. This includes every run in which the
 * proposer is stale: a deposed node unaware of its removal acts with a k below that
 * change. (A real node's k only grows; letting it shrink again only adds runs.)
 *
 * Which index. Ballot b fills indexes in order: s is its next index, or the first index
 * it does not know is chosen if that is further (it skips what it learned). Pipelining:
 * it does not wait for s - 1 to be chosen, only for s to be inside the window
 * s < k + ALPHA (src/paxos: nextIndex <= commitIndex + alpha).
 *
 * Which promises. Those it has received: a promise sent is not necessarily in yet, so
 * each step may leave out the promises of any set of other actors (`unheard`, at most
 * two: more would leave no majority of any jury). src/paxos uses the promises in hand
 * when it becomes leader and merges late ones for later indexes.
 *
 * Which jury. The configuration the first k entries determine for s (membersAt). The
 * proposer must be in it (src/paxos: "deposed from here on"; -DANY_PROPOSER drops this)
 * and hold promises from a majority of it (havePromisesFrom: phase 1 is per ballot,
 * but a new jury's majority must promise before b proposes under it).
 *
 * Which value: phase2Value. Then it accepts its own proposal, durably, before sending
 * it (persist before send), and sends it to the jury of s. */
#define NEXT_INDEX(b, k) (nextIndex[b] > (k) -> nextIndex[b] : (k))
#ifdef BUG_STALE_QUORUM
#define IN_WINDOW(b, k) 1
#else
#define IN_WINDOW(b, k) (NEXT_INDEX(b, k) < (k) + ALPHA)
#endif
#define CAN_PROPOSE(b, k, wantChange, unheard) \
  (((unheard) & ~promised[b]) == 0 && !((unheard) & BIT(OWNER(b))) && \
   (b) < nballots && ALIVE(OWNER(b)) && LEADS(b) && (k) <= prefix && \
   NEXT_INDEX(b, k) < L && IN_WINDOW(b, k) && (!(wantChange) || NEXT_INDEX(b, k) == (k)))

/* The jury the proposer computes for s from the first k entries of the chosen log
 * (membersAt). Under BUG_NO_ALPHA it uses the changes it knows of and ignores the ones
 * in flight; under BUG_STALE_QUORUM, when its log does not determine the jury, it takes
 * the client's discovery answer instead: JURY0, looked up before every change. */
inline proposerConfig(k, idx, result, isKnown) {
  configFrom(k, idx, result, isKnown);
#ifdef BUG_NO_ALPHA
  isKnown = 1;
#endif
#ifdef BUG_STALE_QUORUM
  if
  :: !isKnown -> result = 0; isKnown = 1
  :: else -> skip
  fi
#endif
}

/* Phase 2a value for index s (`target`) of ballot b, from the reports of the promises
 * of the actors in `heard` (src/paxos: mergeRecovered):
 *  - the value accepted at s in the highest ballot below b that any promiser reports;
 *  - else, if a promiser reports an entry at a later index, s is a hole: NOOP;
 *  - else s is free: the client's command CMD(b), or (wantChange) the next
 *    configuration change of the script. Only one change is in flight: the proposer
 *    must know every index before s chosen (k == s, see CAN_PROPOSE), so the previous
 *    change is decided. That still lets a change at s follow one at s - 1: two changes
 *    in one alpha window. (src/paxos is stricter: configChangePending waits until the
 *    previous change is in effect.)
 * value = NONE when wantChange does not apply (the step then does nothing).
 * The highest reported ballot below b at s is the highest slot below b whose acks at s
 * hold an actor of `heard` (see acks). */
inline phase2Value(b, wantChange, heard) {
  value = NONE;
  hole = 0;
  slot = b;
  do
  :: slot > 0 && value == NONE ->
     slot--;
     if
     :: (acks[slot].at[target] & (heard)) -> value = proposal[slot].at[target]
     :: else -> skip
     fi;
     later = target + 1;
     do
     :: later < L -> if :: (acks[slot].at[later] & (heard)) -> hole = 1 :: else -> skip fi; later++
     :: else -> break
     od
  :: else -> break
  od;
  if
  :: value != NONE && wantChange -> value = NONE
  :: value == NONE && hole && !wantChange -> value = NOOP
  :: value == NONE && !hole && !wantChange -> value = CMD(bal[b])
  :: value == NONE && !hole && wantChange ->
     /* the newest change in the known prefix 0 .. s-1 says which change is next */
     later = NONE;
     entry = 0;
     do
     :: entry < target ->
        if :: chosen[entry] == CFG1 || chosen[entry] == CFG2 -> later = chosen[entry] :: else -> skip fi;
        entry++
     :: else -> break
     od;
     if
     :: later == NONE -> value = CFG1
     :: later == CFG1 -> value = CFG2
     :: else -> skip
     fi
  :: else -> skip
  fi
}

inline propose(b, k, wantChange, unheard) {
  target = NEXT_INDEX(b, k);
  proposerConfig(k, target, config, canGo);
#ifndef ANY_PROPOSER
  canGo = canGo && (REACHED(JURY(config)) & BIT(OWNER(b)));
#endif
  if
  :: canGo -> quorum = promised[b] & ~(unheard) & REACHED(JURY(config)); canGo = MAJORITY(quorum, JURY(config))
  :: else -> skip
  fi;
  if
  :: canGo -> phase2Value(b, wantChange, promised[b] & ~(unheard)); canGo = (value != NONE)
  :: else -> skip
  fi;
  if
  :: canGo ->
     checkQuorum(quorum, target);
     checkJury(config, target);
     proposal[b].at[target] = value;
#ifdef STORES_JURY_USED
     juryUsed[b].at[target] = config;
#endif
     nextIndex[b] = target + 1;
#ifdef WITNESS_STALE
     noteStaleProposal(b, k);
#endif
     if
     :: (REACHED(JURY(config)) & BIT(OWNER(b))) -> accept(OWNER(b), b, target)
     :: else -> skip
     fi
  :: else -> skip
  fi
}

/* Accept(a, b, s): acceptor a receives accept(b, s, v), sent to the jury of s. It
 * accepts, durably, unless it has promised a higher ballot; acceptors do not check
 * membership (src/paxos: onAccept). When the acceptances of b at s reach a majority
 * of that jury, the value is chosen: the proposer (or anyone counting the 2b messages)
 * learns it, and any node may learn it from then on. */
#define CAN_ACCEPT(a, b, idx) \
  ((b) < nballots && ALIVE(a) && proposal[b].at[idx] != NONE && \
   (REACHED(JURY(JURY_USED(b, idx))) & BIT(a)) && \
   bal[b] >= maxBal[a] && !(acks[b].at[idx] & BIT(a)))
inline accept(a, b, idx) {
  maxBal[a] = bal[b];
  retire(a);
  acks[b].at[idx] = acks[b].at[idx] | BIT(a);
  config = JURY_USED(b, idx);
  quorum = acks[b].at[idx] & REACHED(JURY(config));
  if
  :: MAJORITY(quorum, JURY(config)) -> decided(b, idx)
  :: else -> skip
  fi
}

/* Ballot b's value at idx has just been accepted by `quorum`, a majority of `config`. */
inline decided(b, idx) {
  value = proposal[b].at[idx];
  checkQuorum(quorum, idx);
  checkJury(config, idx);
  agreement = (chosen[idx] == NONE || chosen[idx] == value);
  assert(agreement);
  chosen[idx] = value;
  do
  :: prefix < L && chosen[prefix] != NONE -> prefix++
  :: else -> break
  od;
  if
  :: value == CFG2 -> added = 1   /* the control plane creates n2#2, empty; it is taught */
  :: else -> skip
  fi;
  witnesses(b, idx)
}

/* ---------------------------------------------------- next-state relation -- */
/* The loop below has one branch per step and per actor, ballot slot, index, known
 * prefix and set of unheard promises, spelled out for up to MAXB = 3 ballots, L = 5
 * indexes and MAXROUND = 3 rounds. */

#if L >= 4
#define AT_INDEX_3(M, x, y) M(x, y, 3)
#else
#define AT_INDEX_3(M, x, y)
#endif
#if L >= 5
#define AT_INDEX_4(M, x, y) M(x, y, 4)
#else
#define AT_INDEX_4(M, x, y)
#endif
#define EACH_INDEX(M, x, y) M(x, y, 0) M(x, y, 1) M(x, y, 2) AT_INDEX_3(M, x, y) AT_INDEX_4(M, x, y)

#if MAXB >= 2
#define AT_SLOT_1(M, x) M(x, 1)
#else
#define AT_SLOT_1(M, x)
#endif
#if MAXB >= 3
#define AT_SLOT_2(M, x) M(x, 2)
#else
#define AT_SLOT_2(M, x)
#endif
#define EACH_SLOT(M, x) M(x, 0) AT_SLOT_1(M, x) AT_SLOT_2(M, x)

#if MAXROUND >= 2
#define START_2(a) :: d_step { CAN_START(a, 2) -> startBallot(a, 2); skip }
#else
#define START_2(a)
#endif
#if MAXROUND >= 3
#define START_3(a) :: d_step { CAN_START(a, 3) -> startBallot(a, 3); skip }
#else
#define START_3(a)
#endif

#define ACCEPT_STEP(a, b, idx) :: d_step { CAN_ACCEPT(a, b, idx) -> accept(a, b, idx); skip }
#define PROPOSE_HEARING(b, want, k, unheard) \
  :: d_step { CAN_PROPOSE(b, k, want, unheard) -> propose(b, k, want, unheard); skip }
/* every set of at most two actors whose promises the proposer has not received */
#define PROPOSE_STEP(b, want, k) \
  PROPOSE_HEARING(b, want, k, 0) \
  PROPOSE_HEARING(b, want, k, 1) PROPOSE_HEARING(b, want, k, 2) \
  PROPOSE_HEARING(b, want, k, 4) PROPOSE_HEARING(b, want, k, 8) \
  PROPOSE_HEARING(b, want, k, 3) PROPOSE_HEARING(b, want, k, 5) \
  PROPOSE_HEARING(b, want, k, 6) PROPOSE_HEARING(b, want, k, 9) \
  PROPOSE_HEARING(b, want, k, 10) PROPOSE_HEARING(b, want, k, 12)
#define ACCEPTOR_STEPS(a, b) \
  :: d_step { CAN_PROMISE(a, b) -> promise(a, b); skip } \
  EACH_INDEX(ACCEPT_STEP, a, b)
#define ACTOR(a) \
  :: d_step { CAN_START(a, 1) -> startBallot(a, 1); skip } \
  START_2(a) \
  START_3(a) \
  EACH_SLOT(ACCEPTOR_STEPS, a)
#define PROPOSER_STEPS(unused, b) EACH_INDEX(PROPOSE_STEP, b, 0) EACH_INDEX(PROPOSE_STEP, b, 1)

active proctype Cell() {
end:
  do
  ACTOR(0)
  ACTOR(1)
  ACTOR(2)
  ACTOR(3)
  EACH_SLOT(PROPOSER_STEPS, 0)
#ifdef WITNESS_DUEL
  :: d_step { DUEL -> witness = 0; assert(witness) }
#endif
  od
}
