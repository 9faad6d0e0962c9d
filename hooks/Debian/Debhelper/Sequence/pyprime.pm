#!/usr/bin/perl
# Enables dh_pyprime in "dh $@ --with pyprime" and for Build-Depends on
# dh-sequence-pyprime: before dh_installdeb, which merges its snippets.
use strict;
use warnings;
use Debian::Debhelper::Dh_Lib;

insert_before('dh_installdeb', 'dh_pyprime');

1;
