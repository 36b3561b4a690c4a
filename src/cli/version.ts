/** The released version; CHANGELOG.md has one heading per version. Checked against package.json by a test. */
export const VERSION = '0.1.0';
