# The streamtoken image: FROM scratch, the command and what it needs at run
# time alone. scripts/image (make image) and the release (.goreleaser.yaml)
# build it from a context holding the command, streamtoken (built with cgo),
# and ROOTFS, the root filesystem scripts/image makes from Debian's packages
# (loader, libc, libcrypto, CA certificates, passwd).
FROM scratch
# The command first, the ARG after it: the classic builder gives a step
# before the first COPY the host's platform, and then refuses to copy into
# it for another (linux/arm64 built on amd64).
COPY streamtoken /usr/local/bin/streamtoken
ARG ROOTFS=rootfs
COPY ${ROOTFS}/ /
# nonroot, as /etc/passwd names it; nothing is written but to volumes, so
# the root filesystem may be read-only (docker run --read-only).
USER 65532:65532
# serve listens on every interface of the container; every flag of serve
# has its variable (STREAMTOKEN_ and the flag's name), set with -e.
ENV STREAMTOKEN_ADDR=:8787
EXPOSE 8787
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
	CMD ["/usr/local/bin/streamtoken", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/streamtoken"]
CMD ["serve"]
LABEL org.opencontainers.image.title="streamtoken" \
	org.opencontainers.image.description="Mint, check and serve Cloudflare Stream signed URL tokens: the token server, or a gateway in front of Cloudflare." \
	org.opencontainers.image.source="https://github.com/streamtoken/streamtoken" \
	org.opencontainers.image.url="https://github.com/streamtoken/streamtoken" \
	org.opencontainers.image.licenses="MIT"
