# The installer's tests: included by the top-level Makefile. scripts/install.sh
# (atomic copy) and scripts/deploy/entrypoint.sh (the image's modes: once for
# an init container, stay, serve) against scratch directories; no root, no
# cluster. The manifests themselves are validated by the k8s lane (dry-run).
.PHONY: deploy-test

deploy-test: build
	bash scripts/install_test.sh
	bash scripts/deploy/entrypoint_test.sh
