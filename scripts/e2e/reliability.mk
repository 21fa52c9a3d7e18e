# Reliability harnesses (README: Guarantees): included by the top-level Makefile, which
# defines GO, build and build-faultinject. Each target runs in the e2e lane's
# throwaway namespaces (scripts/reliability.sh), needs root, prints PASS/FAIL
# per case, figures and "N passed, N failed", and fails on any failure.
#
#   make crash           every ADD/DEL fault point: SIGKILL, then DEL / GC / retried ADD
#   make stress          64 concurrent ADD+DEL over 64 VFs, STRESS_ROUNDS rounds; same-VF races
#   make hostile         malformed invocations: CNI error codes, host unchanged
#   make faultseq        1,000 seeded fault sequences at unit level (FAULTSEQ_COUNT)
#   make reliability     all of them at full counts (the README's "Guarantees" figures)
#   make reliability-ci  all three, stress at STRESS_ROUNDS_CI rounds (for .ci/run)
RELIABILITY       := scripts/reliability.sh
STRESS_ROUNDS     ?= 20
STRESS_RACES      ?= 20
STRESS_ROUNDS_CI  ?= 3
STRESS_RACES_CI   ?= 10

.PHONY: crash stress hostile faultseq reliability reliability-ci

FAULTSEQ_COUNT    ?= 1000

crash: build build-faultinject
	GO="$(GO)" bash $(RELIABILITY) crash

stress: build
	GO="$(GO)" bash $(RELIABILITY) stress -rounds $(STRESS_ROUNDS) -races $(STRESS_RACES)

hostile: build
	GO="$(GO)" bash $(RELIABILITY) hostile

faultseq:
	GO="$(GO)" bash scripts/faultseq.sh $(FAULTSEQ_COUNT)

reliability: build build-faultinject
	GO="$(GO)" bash $(RELIABILITY) all -rounds $(STRESS_ROUNDS) -races $(STRESS_RACES)
	GO="$(GO)" bash scripts/faultseq.sh $(FAULTSEQ_COUNT)

reliability-ci: build build-faultinject
	GO="$(GO)" bash $(RELIABILITY) all -rounds $(STRESS_ROUNDS_CI) -races $(STRESS_RACES_CI)
