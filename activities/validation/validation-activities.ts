import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../../shared/config.ts';
import { type ValidateInput, type ValidationReport, type ValidationResult, validateInputSchema } from '../../shared/data/dataset-contract.ts';
import { ErrorType } from '../../shared/errors.ts';
import { validationKeys } from '../../shared/storage-keys.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { parseInput } from '../../shared/parse-input.ts';
import { stageDataset } from '../../domain/datasets/dataset-staging.ts';
import { readHistory, requireManifest, versionBefore } from '../../domain/datasets/dataset-store.ts';
import { openDuckDb } from '../../domain/duckdb/duckdb-session.ts';
import { startProgress } from '../heartbeat.ts';
import { runContractChecks } from '../../domain/validation/contract-checks.ts';
import { contractHash } from '../../domain/validation/contract-hash.ts';

/**
 * Validation: a dataset version against a contract, in DuckDB over the staged raw file, and against the
 * previous version of the same dataset name. The report is always stored (key: dataset version +
 * contract hash) before the verdict is acted on, so a failed run leaves the evidence readable.
 */
export const createValidationActivities = (deps: { store: ArtifactStore; buckets: Config['buckets']; workDir?: string }) => ({
  async validateDataset(rawInput: ValidateInput): Promise<ValidationResult> {
    const input = parseInput(validateInputSchema, rawInput, (problems) => `invalid validateDataset input: ${problems.join('; ')}`);
    const { store, buckets } = deps;
    const now = input.now ? Date.parse(input.now) : Context.current().info.scheduledTimestampMs;
    using progress = startProgress('validateDataset');

    progress.report({ stage: 'reading manifests', datasetVersion: input.datasetVersion });
    const manifest = await requireManifest(store, buckets.datasets, input.datasetVersion);
    const datasetName = input.datasetName ?? manifest.name;
    const previousVersion = versionBefore((await readHistory(store, buckets.datasets, datasetName))?.history, manifest.version);
    const previous = previousVersion ? await requireManifest(store, buckets.datasets, previousVersion) : undefined;

    const dir = await mkdtemp(join(deps.workDir ?? tmpdir(), 'sluice-validate-'));
    let report: ValidationReport;
    try {
      progress.report({ stage: 'staging', datasetVersion: manifest.version, bytes: manifest.sizeBytes });
      const { relation } = await stageDataset(store, buckets.datasets, manifest, dir);
      progress.report({ stage: 'checking', datasetVersion: manifest.version, rows: manifest.rowCount });
      using duck = await openDuckDb({ tempDirectory: dir });
      const checks = await runContractChecks(duck.db, relation, input.contract, {
        schema: manifest.schema,
        rowCount: manifest.rowCount,
        now,
        previous,
      });
      const verdict = checks.some((c) => c.verdict === 'fail') ? 'fail' : checks.some((c) => c.verdict === 'warn') ? 'warn' : 'pass';
      report = {
        kind: 'sluice.validation-report',
        datasetName,
        datasetVersion: manifest.version,
        previousVersion: previous?.version ?? null,
        contractName: input.contract.name,
        contractHash: contractHash(input.contract),
        now: new Date(now).toISOString(),
        rowCount: manifest.rowCount,
        verdict,
        checks,
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    const reportKey = validationKeys.report(report.datasetVersion, report.contractHash);
    await store.put(buckets.reports, reportKey, JSON.stringify(report, null, 2), { contentType: 'application/json' });
    const failed = report.checks.filter((c) => c.verdict === 'fail');
    if (failed.length) {
      const failedChecks = failed.map((c) => (c.column ? `${c.check}(${c.column})` : c.check));
      throw ApplicationFailure.nonRetryable(
        `dataset ${datasetName} ${report.datasetVersion.slice(0, 12)} failed ${failed.length} error-level check(s): ${failed.map((c) => c.message).join('; ')} (report: s3://${buckets.reports}/${reportKey})`,
        ErrorType.DatasetInvalid,
        { reportKey, failedChecks },
      );
    }
    return {
      reportKey,
      verdict: report.verdict === 'warn' ? 'warn' : 'pass',
      warnings: report.checks.filter((c) => c.verdict === 'warn').map((c) => c.message),
      checks: report.checks.length,
    };
  },
});

export type ValidationActivities = ReturnType<typeof createValidationActivities>;
