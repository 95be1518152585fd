import { AuditChainVerifier, type ChainBreak } from '@flowgate/core';
import type { Database } from '../../db/database.ts';
import { checkpointSignatureValid, loadCheckpoints } from './audit.checkpoints.ts';
import type { AuditStore } from './audit.store.ts';

export interface VerifyResult {
  ok: boolean;
  events: number;
  checkpoints: number;
  headSeq: number;
  /** The first problem found, in words an operator can act on. */
  problem: { seq: number; reason: string } | null;
}

function describe(b: ChainBreak): { seq: number; reason: string } {
  switch (b.kind) {
    case 'gap':
      return { seq: b.expectedSeq, reason: `event ${b.expectedSeq} is missing (next stored event is ${b.foundSeq}): removed or reordered` };
    case 'prev-hash':
      return { seq: b.seq, reason: `event ${b.seq} does not link to the event before it: an earlier event was altered, removed or reordered` };
    case 'hash':
      return { seq: b.seq, reason: `event ${b.seq} was altered: its content no longer matches its hash` };
  }
}

/**
 * Streams the whole log through the chain verifier, then checks every signed checkpoint
 * against the chain: a checkpoint past the end means the tail was cut; one whose hash
 * differs means the chain was rewritten.
 */
export async function verifyAuditLog(
  database: Database,
  store: AuditStore,
  onProgress: (checked: number) => void = () => {},
): Promise<VerifyResult> {
  const { checkpoints, keys } = await loadCheckpoints(database);
  const expected = new Map(checkpoints.map((c) => [c.seq, c.hash]));
  const verifier = new AuditChainVerifier();
  let problem: VerifyResult['problem'] = null;

  // Small batches: a batch this size dies young, where 20,000 records (tens of MB) were
  // promoted to the old generation first and then spent as long in GC as in hashing.
  outer: for await (const batch of store.iterate({}, 0, 2_000)) {
    for (const record of batch) {
      const broken = verifier.push(record);
      if (broken) {
        problem = describe(broken);
        break outer;
      }
      const signed = expected.get(record.seq);
      if (signed !== undefined && signed !== record.hash) {
        problem = { seq: record.seq, reason: `event ${record.seq} differs from the signed checkpoint at that point: the log was rewritten` };
        break outer;
      }
    }
    onProgress(verifier.count);
  }

  const head = verifier.head;
  if (!problem) {
    for (const c of checkpoints) {
      if (!checkpointSignatureValid(c, keys.get(c.keyId))) {
        problem = { seq: c.seq, reason: `the checkpoint at event ${c.seq} has an invalid signature` };
        break;
      }
      if (c.seq > head.seq) {
        problem = { seq: head.seq + 1, reason: `events after ${head.seq} were removed: a signed checkpoint covers the log up to event ${c.seq}` };
        break;
      }
    }
  }
  return { ok: problem === null, events: verifier.count, checkpoints: checkpoints.length, headSeq: head.seq, problem };
}
