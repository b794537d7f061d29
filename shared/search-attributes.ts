import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';

/**
 * Custom search attributes the platform writes, so runs can be filtered in the Temporal UI
 * (e.g. `PipelineStage = "awaiting-approval"`). `infra:up` registers them on the dev server;
 * a cluster operator registers the same names and types on a real cluster.
 */
export const searchAttributeKeys = {
  ModelName: defineSearchAttributeKey('ModelName', SearchAttributeType.KEYWORD),
  ModelVersion: defineSearchAttributeKey('ModelVersion', SearchAttributeType.INT),
  PipelineStage: defineSearchAttributeKey('PipelineStage', SearchAttributeType.KEYWORD),
  DatasetVersion: defineSearchAttributeKey('DatasetVersion', SearchAttributeType.KEYWORD),
} as const;

/** Registration data: the CLI's type name and the API's IndexedValueType number. */
export const SEARCH_ATTRIBUTES: Record<keyof typeof searchAttributeKeys, { cliName: string; enumValue: number }> = {
  ModelName: { cliName: 'Keyword', enumValue: 2 },
  ModelVersion: { cliName: 'Int', enumValue: 3 },
  PipelineStage: { cliName: 'Keyword', enumValue: 2 },
  DatasetVersion: { cliName: 'Keyword', enumValue: 2 },
};
