
Ôªø#k
""# -*- coding: lået)