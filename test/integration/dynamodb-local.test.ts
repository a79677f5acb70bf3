import { defineHandlerSuite } from './handlers-suite.ts';

// Amazon's DynamoDB Local needs Java; CI installs it (.ci/run), so there this suite always runs.
defineHandlerSuite('dynamodb-local');
