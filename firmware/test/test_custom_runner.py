"""PlatformIO test runner of the -qemu environments (`test_framework = custom`): PlatformIO's Unity runner
(its output parsing) without downloading the Unity library, which the tinyc-qemu platform's Unity subset
(harness/unity.h) stands in for, and with the test run in QEMU by the platform (qemu_run.py) instead of
over a serial port. Real-board environments use PlatformIO's own Unity framework."""

import os
import sys

from platformio.test.exception import UnitTestSuiteError
from platformio.test.runners.unity import UnityTestRunner


class CustomTestRunner(UnityTestRunner):
    EXTRA_LIB_DEPS = None

    def configure_build_env(self, env):
        return env  # no generated unity_config: harness/unity.c writes over semihosting

    def stage_building(self):
        if self.options.without_building:
            return None
        return self.run_project_targets(["__test", "checkprogsize"])

    def stage_uploading(self):
        return None  # nothing to flash: stage_testing runs the ELF in QEMU

    def stage_testing(self):
        if self.options.without_testing:
            return None
        sys.path.insert(0, self.platform.get_dir())
        import qemu_run  # the platform's module

        config = self.project_config
        env_name = self.test_suite.env_name
        board = self.platform.board_config(config.get(f"env:{env_name}", "board"))
        elf = os.path.join(config.get("platformio", "build_dir"), env_name, "firmware.elf")
        timeout = float(config.get(f"env:{env_name}", "custom_qemu_timeout", "60"))
        harness = os.path.join(os.path.dirname(config.path), "harness")
        code, text = qemu_run.run(board.get("build.qemu"), elf, board.get("build.toolchain"),
                                  harness, timeout)
        self.on_testing_data_output(text)
        if code is None:
            raise UnitTestSuiteError(f"the test did not finish within {timeout:g} s in QEMU")
        if not self.test_suite.is_finished():
            self.test_suite.on_finish()
        return None
