/** Small manifests for the CLI's end-to-end tests, against the demo inventory (examples/inventory.yaml). */

/** One manifest document of `kind` named `name`, with `spec` (already indented by two spaces). */
export const doc = (kind: string, name: string, spec: string): string => `apiVersion: sms-reconcile/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
export const CATALOG = doc('ServerCatalog', 'catalog', '  imported: true\n');
/** ReplicationJob/web-01 every `frequency` hours. */
export const web = (frequency: number): string =>
  doc('ReplicationJob', 'web-01', `  server:\n    vmName: web-01\n    vmManagerName: vcenter-dc1.example.com\n  frequency: ${frequency}\n  description: front end\n`);
/** ReplicationJobSet/apps: app-01 and app-02, the second with a description of its own. */
export const APPS = doc('ReplicationJobSet', 'apps', '  template:\n    frequency: 24\n    licenseType: BYOL\n  servers:\n    - server: {vmName: app-01}\n    - server: {vmName: app-02}\n      description: the second app server\n');
