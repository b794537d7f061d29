import { createHash } from 'node:crypto';
import { canonicalJson } from '../../shared/data/canonical-json.ts';
import type { DatasetContract } from '../../shared/data/dataset-contract.ts';

/** SHA-256 of the parsed contract's canonical JSON: the same checks always name the same report. */
export const contractHash = (contract: DatasetContract) => createHash('sha256').update(canonicalJson(contract)).digest('hex');
