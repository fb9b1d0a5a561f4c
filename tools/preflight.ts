/**
 * Run by `npm test` before the specs: installs the Debian packages they need
 * (as root, through apt-get), or ends with one line saying what to install
 * and exit code 1, before a single spec has failed for want of them.
 */
import { ensurePackages, PackagesMissing, SPEC_PACKAGES } from '../spec/support/system_packages';

ensurePackages(SPEC_PACKAGES).catch((error: unknown) => {
  console.error(error instanceof PackagesMissing ? error.message : String(error));
  process.exitCode = 1;
});
