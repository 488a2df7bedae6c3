# Sourced by the scripts in bench/soak.
#
# build_sipcm sets SIPCM to $SIPCM_BIN when it is set, else builds cmd/sipcm
# from $ROOT into $WORK/sipcm.
build_sipcm() {
	if [[ -n "${SIPCM_BIN:-}" ]]; then
		SIPCM=$SIPCM_BIN
	else
		SIPCM=$WORK/sipcm
		echo "building sipcm from $ROOT"
		(cd "$ROOT" && go build -o "$SIPCM" ./cmd/sipcm)
	fi
}
