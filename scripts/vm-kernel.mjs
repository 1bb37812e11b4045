#!/usr/bin/env node
// Fetches the guest kernel the VM tests and `ferry demo --vm` boot: `apt-get download` of the package Debian's
// linux-image-cloud-amd64 depends on, unpacked with `dpkg-deb -x` into the cache (FERRY_VM_CACHE, else
// ~/.cache/ferry/vm). Nothing is installed. Needs apt's package lists (`apt-get update`). See docs/vm-tests.md.
import { homedir } from 'node:os';
import { defaultVmCacheDir, fetchKernel } from '@ferry/microvm';

const kernel = await fetchKernel({ cacheDir: defaultVmCacheDir(process.env, homedir()) });
console.log(`guest kernel ${kernel.release}: ${kernel.image}`);
