#!/usr/bin/env node
console.log('fara: work in progress')
