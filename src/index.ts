/** The package's library surface, for Node.js producers and tools. */
export { type Config, loadConfig } from './config.js';
export { DEAD_LETTER_ATTRIBUTE, type DeadLetterInfo, readDeadLetterInfo } from './deadLetter.js';
export { ConfigError, InvalidEventError, RelayError } from './errors.js';
export { type FailureEvent, type ParseResult, POISON_REASONS, parseEvent, validateEvent } from './event.js';
export { decide, type Outcome } from './outcome.js';
export { type PublishOptions, publishTaskFailure } from './publish.js';
export { type Service, startService } from './service.js';
