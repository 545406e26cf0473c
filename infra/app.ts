/**
 * The CDK app entry, run by `cdk.json` (`npx tsx infra/app.ts`). Configuration comes from context
 * (`cdk.json` or `-c key=value`, see infra/config.ts).
 */
import { App } from 'aws-cdk-lib';
import { addPersonsRelay } from './persons-relay-app.ts';

const app = new App();
addPersonsRelay(app);
app.synth();
