#!/usr/bin/env node
// After `npm pack`/`npm publish`: remove the prebuilds the pack made, so that in a development
// checkout the local build (the one being edited) is what loads.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
fs.rmSync(path.join(__dirname, '..', 'prebuilds'), { recursive: true, force: true });
