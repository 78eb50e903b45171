"""List parameters passed as strings get the -y advice a user can paste (issue 22: the advice
for ``-p datasets "[mulan-scene]"`` used to be ``[[mulan-scene]]``)."""

import pytest

from zsl_lib.validation import check_int_list, check_name_list


@pytest.mark.parametrize("given, advice", [("[mulan-scene]", '-y "datasets: [mulan-scene]"'),
                                           ("mulan-scene", '-y "datasets: [mulan-scene]"'),
                                           ("[a, b]", '-y "datasets: [a, b]"')])
def test_name_list_advice_is_pasteable(given, advice):
    with pytest.raises(ValueError) as err:
        check_name_list("datasets", given)
    assert advice in str(err.value) and "[[" not in str(err.value)


@pytest.mark.parametrize("given, advice", [(4, '-y "counts: [4]"'), ("[2, 4]", '-y "counts: [2, 4]"')])
def test_int_list_advice_is_pasteable(given, advice):
    with pytest.raises(ValueError) as err:
        check_int_list("counts", given)
    assert advice in str(err.value)
