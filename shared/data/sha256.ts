import { z } from 'zod';

/** A content hash as sluice writes it: lowercase hex SHA-256 (dataset versions, partition keys). */
export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256');
