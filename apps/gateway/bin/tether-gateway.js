#!/usr/bin/env node
// A committed launcher, so package managers can link the bin before the first build.
import '../dist/main.js';
