/** The package's library surface, for Node.js producers and tools. */

export {
  type PublishOptions,
  publishTaskFailure,
  publishTaskHeartbeat,
  publishTaskSuccess,
  type TaskHeartbeat,
  type TaskSuccess,
} from './aws/publish.js';
export { ConfigError, InvalidEventError, RelayError } from './core/errors.js';
export { type FailureEvent, type ParseResult, POISON_REASONS, parseEvent, validateEvent } from './core/event.js';
export { decide, type Outcome } from './core/outcome.js';
export { DEAD_LETTER_ATTRIBUTE, type DeadLetterInfo, readDeadLetterInfo } from './pipeline/deadLetter.js';
export { type Config, loadConfig } from './service/config.js';
export { type Service, startService } from './service/service.js';
