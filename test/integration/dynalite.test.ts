import { defineHandlerSuite } from './handlers-suite.ts';

defineHandlerSuite('dynalite');
