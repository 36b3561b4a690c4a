/** The three-wave world of the waves e2e tests: wave w (1..3) holds generated VMs 3w-2 .. 3w, listed in a ReplicationJobSet `wave-w`. */
import type { ManifestDoc } from './apply-harness.ts';

export const vm = (n: number): string => `gen-${String(n).padStart(4, '0')}`;

export const WAVES = [1, 2, 3].map((w) => ({ wave: w, vms: [3 * w - 2, 3 * w - 1, 3 * w].map(vm) }));

export const waveDocs: ManifestDoc[] = WAVES.map(({ wave, vms }) => ({
  apiVersion: 'sms-reconcile/v1',
  kind: 'ReplicationJobSet',
  metadata: { name: `wave-${wave}` },
  spec: { wave, template: { frequency: 12 }, servers: vms.map((v) => ({ server: { vmName: v } })) },
}));
