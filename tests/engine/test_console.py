"""The console shows our messages; third-party warnings go to the log file."""
import logging

from reidkit.utils.logging import ThirdPartyToFile, quiet_third_party


def _logger(tmp_path):
    from mmengine.logging import MMLogger
    return MMLogger.get_instance(f'console_test_{id(tmp_path)}',
                                 log_file=str(tmp_path / 'run.log'))


def test_third_party_warnings_reach_the_file_only(tmp_path, capsys):
    from mmengine.fileio import FileClient
    from mmengine.logging import print_log
    logger = _logger(tmp_path)
    quiet_third_party(logger)
    print_log('our own warning', logger=logger, level=logging.WARNING)
    print_log('epoch progress', logger=logger, level=logging.INFO)
    FileClient(backend='disk')  # mmengine's own deprecation warning
    import warnings
    warnings.warn('a library UserWarning')
    console = capsys.readouterr()
    shown = console.out + console.err
    assert 'our own warning' in shown and 'epoch progress' in shown
    assert 'FileClient' not in shown and 'library UserWarning' not in shown
    for handler in logger.handlers:
        handler.flush()
    text = (tmp_path / 'run.log').read_text()
    assert 'FileClient' in text and 'our own warning' in text
    assert 'a library UserWarning' in text
    logging.captureWarnings(False)


def test_filter_keeps_errors_from_anywhere():
    record = logging.LogRecord('mmengine', logging.ERROR, __file__, 1, 'x',
                               None, None)
    assert ThirdPartyToFile().filter(record)
