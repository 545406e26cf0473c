/**
 * Shared helpers for the infra tests: build the persons-relay app with a given context into a temp outdir
 * (never `cdk.out` or a stray `os.tmpdir()/cdk.outXXXX`), usually with bundling skipped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addPersonsRelay, type PersonsRelayStacks } from '../../../infra/persons-relay-app.ts';

/** A fresh temp directory under the OS temp dir; remove it with `removeDir`. */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `persons-relay-${prefix}-`));
}

/** Removes a directory made by {@link tempDir}. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A built relay app and its templates. */
export interface RelayFixture {
  readonly app: App;
  readonly stacks: PersonsRelayStacks;
  readonly core: Template;
  readonly monitoring: Template;
  readonly outdir: string;
}

/** A full configuration: routing, producers, alarm email, project id. */
export const FULL_CONTEXT = {
  posthogProjectId: '4242',
  posthogHost: 'https://eu.posthog.com',
  alarmEmail: 'oncall@example.com',
  producerAccountIds: '111111111111,222222222222',
  producerPrincipalArns: ['arn:aws:iam::333333333333:role/crm-sync'],
  eventBusName: 'crm-events',
  oldestMessageAgeAlarmSeconds: '1800',
  propertyWrites: 'capture',
} as const;

/**
 * Builds the app from `context` into a temp outdir. Bundling is skipped unless `bundling` is true
 * (`aws:cdk:bundling-stacks: []`), and cdk-nag is registered only when `nag` is true.
 */
export function buildRelay(
  context: Record<string, unknown>,
  options: { bundling?: boolean; nag?: boolean } = {},
): RelayFixture {
  const outdir = tempDir('cdk');
  const app = new App({
    outdir,
    context: {
      ...(options.bundling === true ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...context,
    },
  });
  const stacks = addPersonsRelay(app, { nag: options.nag ?? false });
  return {
    app,
    stacks,
    outdir,
    core: Template.fromStack(stacks.core),
    monitoring: Template.fromStack(stacks.monitoring),
  };
}

/** A CloudFormation resource as it appears in a template. */
export interface CfnResourceJson {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/** Every resource of `type` in `template`, by logical id. */
export function resourcesOf(template: Template, type: string): Record<string, CfnResourceJson> {
  return template.findResources(type) as Record<string, CfnResourceJson>;
}

/** The logical id in `{ Ref: id }` or `{ 'Fn::GetAtt': [id, attr] }`. */
export function refId(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const ref = (value as { Ref?: unknown }).Ref;
  if (typeof ref === 'string') return ref;
  const getAtt = (value as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'];
  return Array.isArray(getAtt) && typeof getAtt[0] === 'string' ? getAtt[0] : undefined;
}
