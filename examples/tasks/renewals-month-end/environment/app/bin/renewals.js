#!/usr/bin/env node
"use strict";

const { nextRenewal, renewalDates } = require("../src");

function main(argv) {
  const [start, second, third] = argv;
  if (start && second === "--after" && third) {
    console.log(nextRenewal(start, third));
    return 0;
  }
  if (start && /^\d+$/.test(second || "") && third === undefined) {
    for (const date of renewalDates(start, Number(second))) {
      console.log(date);
    }
    return 0;
  }
  console.error("usage: renewals START COUNT | renewals START --after DAY");
  return 2;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  console.error(`renewals: ${error.message}`);
  process.exitCode = 1;
}
