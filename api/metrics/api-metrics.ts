import { MetricsRegistry } from './exposition.ts';

/** Seconds: from 100 µs (a lone event scored at once) to 10 s (the request timeout's order). */
const LATENCY_BOUNDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
/** Seconds: a young-generation pause is usually 0.5-5 ms, a full one up to tens of ms. */
const GC_BOUNDS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25];
const ROW_BOUNDS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/** Every metric the API exports, created once; components hold the series they update. */
export class ApiMetrics {
  readonly registry = new MetricsRegistry();

  readonly requests = this.registry.counter('sluice_api_requests_total', 'HTTP requests answered, by route and status code');
  readonly errors = this.registry.counter('sluice_api_errors_total', 'Error answers, by route and error code');
  readonly predictLatency = this.registry.histogram('sluice_predict_duration_seconds', 'Predict request latency from arrival to answer, per model version that served it', LATENCY_BOUNDS);
  readonly predictions = this.registry.counter('sluice_predictions_total', 'Events scored, per model version and the role it served them in (primary, canary, shadow)');
  readonly requestEvents = this.registry.histogram('sluice_predict_request_events', 'Events per predict request', ROW_BOUNDS);
  readonly batchRows = this.registry.histogram('sluice_model_batch_rows', 'Rows per model run (micro-batches of concurrent requests), per model version', ROW_BOUNDS);
  readonly logBuffered = this.registry.gauge('sluice_prediction_log_buffered_rows', 'Prediction log rows held in memory or awaiting upload');
  readonly logWritten = this.registry.counter('sluice_prediction_log_written_rows_total', 'Prediction log rows written to the predictions bucket');
  readonly logDropped = this.registry.counter('sluice_prediction_log_dropped_rows_total', 'Prediction log rows dropped because the bounded buffer was full');
  readonly logFlushFailures = this.registry.counter('sluice_prediction_log_flush_failures_total', 'Prediction log flushes that failed (rows are kept and retried while the buffer has room)');
  readonly shadowSkipped = this.registry.counter('sluice_shadow_skipped_total', 'Shadow scorings not done, by reason (queue_full, invalid_event, error)');
  readonly provider = this.registry.gauge('sluice_onnx_execution_provider_info', 'ONNX Runtime execution providers in use by loaded model versions (value 1, one series per provider)');
  readonly providerUnavailable = this.registry.gauge('sluice_onnx_execution_provider_unavailable_info', 'Configured execution providers that could not be used (value 1, one series per provider)');
  readonly modelsLoaded = this.registry.gauge('sluice_serving_model_versions_loaded', 'Model versions loaded and routable');
  readonly modelLoads = this.registry.counter('sluice_serving_model_loads_total', 'Model version loads, by outcome');
  readonly configStale = this.registry.gauge('sluice_serving_config_stale', '1 when the last serving config poll failed and the last good config is being served');
  readonly configRevision = this.registry.gauge('sluice_serving_config_revision', 'Revision of the serving config in use');
  readonly configLastSuccess = this.registry.gauge('sluice_serving_config_last_success_timestamp_seconds', 'When the serving config object was last read successfully');
  readonly featuresAge = this.registry.gauge('sluice_online_features_age_seconds', 'Now minus the as-of instant of the online feature snapshot served to each model');
  readonly featuresRefreshed = this.registry.gauge('sluice_online_features_refreshed_timestamp_seconds', 'When the online feature snapshot served to each model was written (its refresh\'s last success)');
  readonly featuresStale = this.registry.gauge('sluice_online_features_stale', '1 when a model\'s online features are older than SLUICE_SERVING_FEATURES_MAX_AGE or a newer snapshot could not be loaded; the last good one is served');
  readonly gcPauses = this.registry.histogram('sluice_gc_pause_seconds', 'Garbage collection pauses of the event loop thread, by kind (minor, major, incremental, weak_callbacks)', GC_BOUNDS);
  readonly configPollErrors = this.registry.counter('sluice_serving_config_poll_errors_total', 'Serving config polls that failed, by reason (unreachable, timeout, missing, invalid, load_failed)');

  render(): string {
    return this.registry.render();
  }
}
